/**
 * A history of operations on a key-value register, as clients saw them: what each asked, when
 * (from a monotonic clock, milliseconds), and what came back.
 *
 * The outcome decides what the checker may assume:
 * - `ok`: the operation took effect exactly once, somewhere between invocation and completion,
 *   and its result is the one recorded;
 * - `failed`: it certainly did not take effect (the checker ignores it);
 * - `indeterminate`: it may have taken effect, at any time after its invocation (even long after
 *   the client gave up), or never; its result is unknown. Its completion time is kept for people
 *   to read; the checker treats it as +infinity.
 */

export type Outcome = "ok" | "failed" | "indeterminate";

interface OperationBase {
  /** Unique within the history. */
  readonly id: number;
  /** Which client ran it: a client runs one operation at a time. */
  readonly client: number;
  readonly key: string;
  readonly invokedAt: number;
  /** When the client had its answer, or gave up. */
  readonly completedAt: number;
  readonly outcome: Outcome;
  /** Why it failed or is indeterminate: the error's code and message. */
  readonly error?: string;
}

/** Writes a value; in a chaos workload every value is written once. */
export interface PutOperation extends OperationBase {
  readonly kind: "put";
  readonly value: string;
}

/** Reads the key: `value` is what it returned (null: the key did not exist), when ok. */
export interface GetOperation extends OperationBase {
  readonly kind: "get";
  readonly value: string | null;
}

/** Deletes the key: `existed` is what it returned, when ok (null otherwise). */
export interface DelOperation extends OperationBase {
  readonly kind: "del";
  readonly existed: boolean | null;
}

export type Operation = PutOperation | GetOperation | DelOperation;

/** The operations of each key, in the order given. */
export function byKey(history: readonly Operation[]): Map<string, Operation[]> {
  const keys = new Map<string, Operation[]>();
  for (const op of history) {
    let ops = keys.get(op.key);
    if (!ops) {
      ops = [];
      keys.set(op.key, ops);
    }
    ops.push(op);
  }
  return keys;
}

/** "put k1 = c3-17", "get k1 -> c3-17", "del k1 -> existed": an operation as a person reads it. */
export function describeOperation(op: Operation): string {
  const result = op.outcome === "ok";
  switch (op.kind) {
    case "put":
      return `put ${op.key} = ${op.value}`;
    case "get":
      return result ? `get ${op.key} -> ${op.value ?? "(absent)"}` : `get ${op.key}`;
    case "del":
      return result ? `del ${op.key} -> ${op.existed ? "existed" : "did not exist"}` : `del ${op.key}`;
  }
}
