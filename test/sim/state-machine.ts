/**
 * The state machine each simulated member applies committed entries to: the sequence of
 * payloads (and conf changes) with their indexes, which is exactly what state machine safety
 * talks about. Its snapshot image is that sequence serialised, so a member that installs a
 * snapshot can be checked entry by entry against what the others applied.
 */
import type { Entry } from "../../src/node/raft/types.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export const encodePayload = (payload: string): Uint8Array => encoder.encode(payload);

/** The payload of a normal entry as text ("" for a leader's no-op). */
export function payloadOf(entry: Entry): string {
  return entry.type === "normal" ? decoder.decode(entry.data) : "";
}

/**
 * What identifies an entry for the safety checks: its term and content. Two members that
 * applied different fingerprints at one index have diverged, even if only in the term of a no-op.
 */
export function fingerprint(entry: Entry): string {
  if (entry.type === "normal") return `${entry.term}:${payloadOf(entry)}`;
  return `${entry.term}:conf ${entry.change.type} n${entry.change.node}`;
}

/** Whether applying the entry changes the user-visible state (no-ops do not). */
export const isVisible = (entry: Entry): boolean => entry.type === "confChange" || entry.data.length > 0;

interface Image {
  readonly applied: number;
  readonly items: readonly (readonly [number, string])[];
}

export class StateMachine {
  private applied: number;
  /** index -> fingerprint of each visible entry applied, in index order. */
  private readonly items: Map<number, string>;
  /** payload -> index, for membership tests of reads and the duplicate-apply check. */
  private readonly payloads: Map<string, number>;

  private constructor(applied: number, items: Map<number, string>, payloads: Map<string, number>) {
    this.applied = applied;
    this.items = items;
    this.payloads = payloads;
  }

  static empty(): StateMachine {
    return new StateMachine(0, new Map(), new Map());
  }

  /** Rebuilds the state from a snapshot image; an empty image is the empty state at index 0. */
  static restore(data: Uint8Array): StateMachine {
    if (data.length === 0) return StateMachine.empty();
    const image = parseImage(decoder.decode(data));
    const items = new Map<number, string>();
    const payloads = new Map<string, number>();
    for (const [index, fp] of image.items) {
      items.set(index, fp);
      const payload = payloadOfFingerprint(fp);
      if (payload !== undefined) payloads.set(payload, index);
    }
    return new StateMachine(image.applied, items, payloads);
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The caller checks contiguity (that is a property of the core, reported by the checker). */
  apply(entry: Entry): void {
    this.applied = entry.index;
    if (!isVisible(entry)) return;
    this.items.set(entry.index, fingerprint(entry));
    if (entry.type === "normal") this.payloads.set(payloadOf(entry), entry.index);
  }

  fingerprintAt(index: number): string | undefined {
    return this.items.get(index);
  }

  indexOfPayload(payload: string): number | undefined {
    return this.payloads.get(payload);
  }

  /** Visible entries in index order (Map keeps insertion order, and entries are applied in order). */
  contents(): IterableIterator<[number, string]> {
    return this.items.entries();
  }

  serialize(): Uint8Array {
    const image: Image = { applied: this.applied, items: [...this.items] };
    return encoder.encode(JSON.stringify(image));
  }
}

/** The payload inside a fingerprint of a normal entry, undefined for conf changes. */
function payloadOfFingerprint(fp: string): string | undefined {
  const colon = fp.indexOf(":");
  const rest = fp.slice(colon + 1);
  return rest.startsWith("conf ") ? undefined : rest;
}

function parseImage(text: string): Image {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) throw new Error("snapshot image is not an object");
  const applied: unknown = Reflect.get(value, "applied");
  const items: unknown = Reflect.get(value, "items");
  if (typeof applied !== "number" || !Array.isArray(items)) throw new Error("snapshot image is malformed");
  const out: (readonly [number, string])[] = [];
  for (const item of items as unknown[]) {
    if (!Array.isArray(item) || typeof item[0] !== "number" || typeof item[1] !== "string") {
      throw new Error("snapshot image item is malformed");
    }
    out.push([item[0], item[1]]);
  }
  return { applied, items: out };
}
