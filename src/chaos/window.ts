/**
 * The smallest anomalous window of a key's history that is not linearizable: a stretch short
 * enough for a person to read that is contradictory on its own.
 *
 * The window [start, end] is cut in two steps, each a binary search over checks that only get
 * weaker as the window shrinks, so that a window found contradictory proves the whole history is
 * not linearizable:
 * 1. end: the earliest time such that the history up to it is already not linearizable. Cutting at
 *    `end` keeps the operations invoked by then; one still running at `end` becomes
 *    indeterminate (a put or del) or is left out (a get), since its result may depend on what
 *    came later.
 * 2. start: the latest quiescent time (no determinate operation in flight) such that the
 *    operations from it to `end` are still contradictory from ANY state the key could have held
 *    there (absent, or any value put before). Every operation before a quiescent time precedes
 *    every determinate operation after it, so any linearization of the whole history would give
 *    one of the window from the state it had reached; indeterminate operations invoked earlier
 *    stay in the window, free to take effect from `start` on.
 */

import type { EncodedKey } from "./encode.js";
import { checkKeyHistory } from "./linearizability.js";
import {
  ABSENT,
  DEL,
  type EncodedOperation,
  EXISTED_UNKNOWN,
  type InitialState,
  PUT,
  STARTS_ABSENT,
  WILDCARD,
} from "./register-model.js";

export interface Window {
  /** -Infinity when the window starts at the beginning (from the absent key). */
  readonly start: number;
  readonly end: number;
  /** The window's operations, as the search saw them (positions in the key's operations). */
  readonly ops: readonly EncodedOperation[];
  /** Value ids the key may have held at `start`: [ABSENT] at the beginning. */
  readonly startStates: readonly number[];
}

/** The window of a key whose whole history `encoded` is not linearizable from the absent key. */
export function smallestWindow(encoded: EncodedKey, budget: number): Window {
  const ends = [...new Set(encoded.ops.filter((op) => op.ret !== Infinity).map((op) => op.ret))].sort(
    (a, b) => a - b,
  );
  const contradictory = (ops: EncodedOperation[], initial: InitialState) =>
    checkKeyHistory(ops, initial, budget) === "not linearizable";

  // The first end at which the history is already contradictory (it is at the last one).
  let lo = 0;
  let hi = ends.length; // ends.length stands for the whole history
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (contradictory(cutAt(encoded.ops, ends[mid] as number), STARTS_ABSENT)) hi = mid;
    else lo = mid + 1;
  }
  const end = lo < ends.length ? (ends[lo] as number) : Infinity;
  const prefix = end === Infinity ? encoded.ops : cutAt(encoded.ops, end);

  const starts = quiescentTimes(prefix);
  let best: Window = { start: -Infinity, end, ops: prefix, startStates: [ABSENT] };
  lo = 0;
  hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const candidate = windowFrom(prefix, starts[mid] as number, end);
    if (contradictory([...candidate.ops], initialOf(candidate))) {
      best = candidate;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/** The operations invoked by `end`; those still running then lose their result. */
function cutAt(ops: readonly EncodedOperation[], end: number): EncodedOperation[] {
  const cut: EncodedOperation[] = [];
  for (const op of ops) {
    if (op.call > end) continue;
    if (op.ret <= end) cut.push(op);
    else if (op.kind === PUT) cut.push({ ...op, ret: Infinity });
    else if (op.kind === DEL) cut.push({ ...op, ret: Infinity, arg: EXISTED_UNKNOWN });
    // a get still running at `end` says nothing about the window
  }
  return cut;
}

/** Invocation times at which no determinate operation is in flight, in increasing order. */
function quiescentTimes(ops: readonly EncodedOperation[]): number[] {
  const determinate = ops.filter((op) => op.ret !== Infinity).sort((a, b) => a.call - b.call);
  const times: number[] = [];
  let latestReturn = -Infinity;
  for (let i = 0; i < determinate.length; i++) {
    const op = determinate[i] as EncodedOperation;
    const previous = determinate[i - 1];
    if (latestReturn < op.call && previous?.call !== op.call) times.push(op.call);
    latestReturn = Math.max(latestReturn, op.ret);
  }
  return times;
}

/** The operations from quiescent time `start` on, indeterminate ones invoked before included. */
function windowFrom(prefix: readonly EncodedOperation[], start: number, end: number): Window {
  const ops: EncodedOperation[] = [];
  const startStates = new Set<number>([ABSENT]);
  for (const op of prefix) {
    if (op.call < start && op.kind === PUT) startStates.add(op.arg);
    if (op.call >= start) ops.push(op);
    else if (op.ret === Infinity) ops.push({ ...op, call: start });
  }
  return { start, end, ops, startStates: [...startStates] };
}

function initialOf(window: Window): InitialState {
  if (window.start === -Infinity) return STARTS_ABSENT;
  return { state: WILDCARD, candidates: new Set(window.startStates) };
}
