/**
 * The linearizability checker of a key-value history: pure, no I/O.
 *
 * Linearizability is compositional (Herlihy and Wing's locality; Porcupine's
 * P-compositionality): a history of a key-value store is linearizable exactly when each key's
 * history is. So each key is checked on its own (linearizability.ts), which keeps every search
 * small; for a key that fails, the smallest window that shows why is cut out (window.ts).
 */

import { encodeKey } from "./encode.js";
import { byKey, type Operation } from "./history.js";
import { checkKeyHistory, DEFAULT_SEARCH_BUDGET, type SearchVerdict } from "./linearizability.js";
import { STARTS_ABSENT } from "./register-model.js";
import { smallestWindow, type Window } from "./window.js";

export interface KeyVerdict {
  readonly key: string;
  readonly verdict: SearchVerdict;
  /** Operations the search considered (failed ones, and those nothing could observe, left out). */
  readonly checked: number;
}

/** A key whose history is not linearizable, and the window that shows it. */
export interface Anomaly {
  readonly key: string;
  /** Every operation of the key, in history order; the window's `ops` index into it. */
  readonly keyOps: readonly Operation[];
  /** Value id -> value (id 0: the key is absent). */
  readonly values: readonly string[];
  readonly window: Window;
}

export interface CheckResult {
  /** "gave up" when no key failed but some search hit its budget. */
  readonly verdict: SearchVerdict;
  readonly keys: readonly KeyVerdict[];
  /** One per key that is not linearizable, in key order. */
  readonly anomalies: readonly Anomaly[];
}

export interface CheckOptions {
  /** Configurations one key's search may remember before giving up. */
  readonly budget?: number;
}

export function checkHistory(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const budget = options.budget ?? DEFAULT_SEARCH_BUDGET;
  const keys: KeyVerdict[] = [];
  const anomalies: Anomaly[] = [];
  const sorted = [...byKey(history)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, keyOps] of sorted) {
    const encoded = encodeKey(keyOps);
    const verdict = checkKeyHistory(encoded.ops, STARTS_ABSENT, budget);
    keys.push({ key, verdict, checked: encoded.ops.length });
    if (verdict === "not linearizable") {
      anomalies.push({ key, keyOps, values: encoded.values, window: smallestWindow(encoded, budget) });
    }
  }
  const verdict: SearchVerdict =
    anomalies.length > 0
      ? "not linearizable"
      : keys.some((k) => k.verdict === "gave up")
        ? "gave up"
        : "linearizable";
  return { verdict, keys, anomalies };
}
