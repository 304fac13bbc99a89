/**
 * Is one key's history linearizable? The algorithm of Wing and Gong (1993) with Lowe's
 * memoization (2017), as Porcupine implements it:
 *
 * The invocations and completions of every operation are laid out in time order in a doubly
 * linked list. The search walks it: at an invocation it tries to linearize that operation now
 * (the register must allow its result from the current state); if so it removes ("lifts") the
 * operation's two events from the list, remembers the choice on a stack and starts again from
 * the head. Reaching a completion means some operation that has already returned could not be
 * linearized: the search backtracks (pops the last choice, puts its events back, and tries the
 * next invocation after it). The history is linearizable when the list empties.
 *
 * Lowe's improvement: a configuration is the set of linearized operations plus the state; two
 * paths that reach the same configuration have the same future, so each configuration is
 * explored once (a hash set of (bitset, state), the bitset hashed incrementally).
 *
 * Indeterminate operations complete at +infinity: the search may linearize them anywhere after
 * their invocation, or at the very end, which for a put or a del with unknown result is the same
 * as never.
 */

import { type EncodedOperation, ILLEGAL, type InitialState, step } from "./register-model.js";

export type SearchVerdict = "linearizable" | "not linearizable" | "gave up";

/** How many configurations one search may remember before it gives up (memory bound). */
export const DEFAULT_SEARCH_BUDGET = 2_000_000;

interface Event {
  readonly isCall: boolean;
  readonly op: number;
  readonly time: number;
  /** For an invocation: its completion. */
  match: Event | undefined;
  prev: Event | undefined;
  next: Event | undefined;
}

interface Remembered {
  readonly bits: Uint32Array;
  readonly state: number;
}

export function checkKeyHistory(
  ops: readonly EncodedOperation[],
  initial: InitialState,
  budget = DEFAULT_SEARCH_BUDGET,
): SearchVerdict {
  const head = eventList(ops);
  const words = Math.ceil(ops.length / 32);
  const bits = new Uint32Array(words);
  const zobrist = ops.map((_, i) => mix32(i + 1));
  let hash = 0;
  let state = initial.state;
  const seen = new Map<number, Remembered[]>();
  let remembered = 0;
  const stack: { call: Event; state: number }[] = [];

  let entry = head.next;
  while (head.next !== undefined) {
    if (entry === undefined) throw new Error("the event list ended before its completions");
    if (entry.isCall) {
      const op = ops[entry.op] as EncodedOperation;
      const next = step(state, op, initial.candidates);
      let advanced = false;
      if (next !== ILLEGAL) {
        const word = entry.op >>> 5;
        const bit = 1 << (entry.op & 31);
        bits[word] = (bits[word] as number) | bit;
        const nextHash = hash ^ (zobrist[entry.op] as number);
        const key = (nextHash ^ Math.imul(next + 3, 0x9e3779b1)) >>> 0;
        if (remember(seen, key, bits, next)) {
          if (++remembered > budget) return "gave up";
          stack.push({ call: entry, state });
          state = next;
          hash = nextHash;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          bits[word] = (bits[word] as number) & ~bit;
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      const last = stack.pop();
      if (last === undefined) return "not linearizable";
      const { call } = last;
      state = last.state;
      hash ^= zobrist[call.op] as number;
      bits[call.op >>> 5] = (bits[call.op >>> 5] as number) & ~(1 << (call.op & 31));
      unlift(call);
      entry = call.next;
    }
  }
  return "linearizable";
}

/** Adds (bits, state) to the set; false when it was there already. */
function remember(seen: Map<number, Remembered[]>, key: number, bits: Uint32Array, state: number): boolean {
  let bucket = seen.get(key);
  if (bucket === undefined) {
    bucket = [];
    seen.set(key, bucket);
  }
  for (const entry of bucket) if (entry.state === state && sameBits(entry.bits, bits)) return false;
  bucket.push({ bits: bits.slice(), state });
  return true;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The events in time order behind a sentinel head. At equal times invocations come first: two
 * operations that touch in time count as concurrent, the reading that can never convict a
 * correct store.
 */
function eventList(ops: readonly EncodedOperation[]): Event {
  const events: Event[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as EncodedOperation;
    const ret: Event = {
      isCall: false,
      op: i,
      time: op.ret,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    events.push({ isCall: true, op: i, time: op.call, match: ret, prev: undefined, next: undefined }, ret);
  }
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Event = {
    isCall: false,
    op: -1,
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const event of events) {
    prev.next = event;
    event.prev = prev;
    prev = event;
  }
  return head;
}

/** Takes an invocation and its completion out of the list. */
function lift(call: Event): void {
  unlink(call);
  unlink(call.match as Event);
}

/** Puts them back, in the reverse order. */
function unlift(call: Event): void {
  relink(call.match as Event);
  relink(call);
}

function unlink(event: Event): void {
  (event.prev as Event).next = event.next;
  if (event.next) event.next.prev = event.prev;
}

function relink(event: Event): void {
  (event.prev as Event).next = event;
  if (event.next) event.next.prev = event;
}

/** A well-spread 32-bit value for each operation (Zobrist hashing of the linearized set). */
function mix32(n: number): number {
  let x = Math.imul(n ^ (n >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
