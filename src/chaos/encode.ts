/**
 * One key's operations turned into what the search needs (register-model.ts), with the
 * operations that cannot change the verdict left out:
 * - failed operations (they certainly did not take effect);
 * - indeterminate gets (a read changes nothing, and its result is unknown);
 * - indeterminate puts that nothing could have observed: no get returned their value and no
 *   del that reported "existed" completed after their invocation. Such a put can always be
 *   moved to the end of a linearization (where it changes nothing anyone saw) and taken out of
 *   one (every later read or del saw another state anyway), so dropping it keeps the verdict,
 *   and it spares the search the 2^n ways of placing n unseen puts.
 * And an indeterminate put whose value a get returned certainly took effect, before the first
 * such get completed, when no other put wrote the same value: it is given that completion as its
 * own, which is what it is in every linearization, and the search no longer carries it along as
 * an operation that may still happen.
 */

import type { Operation } from "./history.js";
import { ABSENT, DEL, type EncodedOperation, EXISTED_UNKNOWN, GET, PUT } from "./register-model.js";

export interface EncodedKey {
  readonly ops: EncodedOperation[];
  /** Value id -> the value, for reports (id 0 is ABSENT). */
  readonly values: readonly string[];
}

export function encodeKey(keyOps: readonly Operation[]): EncodedKey {
  const ids = new Map<string, number>();
  const values: string[] = [""];
  const idOf = (value: string | null): number => {
    if (value === null) return ABSENT;
    let id = ids.get(value);
    if (id === undefined) {
      id = values.length;
      values.push(value);
      ids.set(value, id);
    }
    return id;
  };

  /** Value -> when the first get that returned it completed. */
  const firstRead = new Map<string, number>();
  const writers = new Map<string, number>();
  let lastExistedDel = -Infinity;
  for (const op of keyOps) {
    if (op.kind === "put" && op.outcome !== "failed") writers.set(op.value, (writers.get(op.value) ?? 0) + 1);
    if (op.outcome !== "ok") continue;
    if (op.kind === "get" && op.value !== null) {
      firstRead.set(op.value, Math.min(firstRead.get(op.value) ?? Infinity, op.completedAt));
    }
    if (op.kind === "del" && op.existed === true) lastExistedDel = Math.max(lastExistedDel, op.completedAt);
  }

  const ops: EncodedOperation[] = [];
  keyOps.forEach((op, index) => {
    if (op.outcome === "failed") return;
    const indeterminate = op.outcome === "indeterminate";
    const ret = indeterminate ? Infinity : op.completedAt;
    const base = { index, call: op.invokedAt, ret };
    switch (op.kind) {
      case "put": {
        const readAt = firstRead.get(op.value);
        if (indeterminate && readAt === undefined && lastExistedDel <= op.invokedAt) return;
        const unique = writers.get(op.value) === 1;
        const took = indeterminate && unique && readAt !== undefined && readAt >= op.invokedAt;
        ops.push({ ...base, ret: took ? readAt : ret, kind: PUT, arg: idOf(op.value) });
        return;
      }
      case "get":
        if (!indeterminate) ops.push({ ...base, kind: GET, arg: idOf(op.value) });
        return;
      case "del":
        ops.push({ ...base, kind: DEL, arg: indeterminate ? EXISTED_UNKNOWN : op.existed ? 1 : 0 });
        return;
    }
  });
  return { ops, values };
}
