/**
 * The linearizability checker on hand-made histories (accepted when linearizable, the classic
 * anomalies rejected with a small window), indeterminate operations both ways, and on a
 * generated history of 10,000 operations on 8 keys.
 */

import { describe, expect, it } from "vitest";
import { renderAnomaly } from "../../src/chaos/anomaly-report.js";
import { checkHistory } from "../../src/chaos/checker.js";
import type { Operation, Outcome } from "../../src/chaos/history.js";
import { generateHistory } from "./generated-history.js";

let nextId = 0;
const base = (client: number, span: [number, number], outcome: Outcome, key: string) => ({
  id: nextId++,
  client,
  key,
  invokedAt: span[0],
  completedAt: span[1],
  outcome,
});
const put = (
  c: number,
  value: string,
  span: [number, number],
  outcome: Outcome = "ok",
  key = "k",
): Operation => ({
  ...base(c, span, outcome, key),
  kind: "put",
  value,
});
const get = (
  c: number,
  value: string | null,
  span: [number, number],
  outcome: Outcome = "ok",
  key = "k",
): Operation => ({
  ...base(c, span, outcome, key),
  kind: "get",
  value,
});
const del = (
  c: number,
  existed: boolean | null,
  span: [number, number],
  outcome: Outcome = "ok",
  key = "k",
): Operation => ({
  ...base(c, span, outcome, key),
  kind: "del",
  existed,
});

const verdict = (history: Operation[]) => checkHistory(history).verdict;
/** The ids of the anomalous window's operations, in invocation order. */
const windowIds = (history: Operation[]) => {
  const [anomaly] = checkHistory(history).anomalies;
  if (!anomaly) throw new Error("no anomaly");
  return [...anomaly.window.ops].sort((a, b) => a.call - b.call).map((op) => anomaly.keyOps[op.index]?.id);
};

describe("linearizable histories are accepted", () => {
  it("an empty history, and sequential puts, gets and dels", () => {
    expect(verdict([])).toBe("linearizable");
    expect(
      verdict([
        get(1, null, [0, 1]),
        put(1, "a", [2, 3]),
        get(2, "a", [4, 5]),
        del(1, true, [6, 7]),
        del(2, false, [8, 9]),
        get(1, null, [10, 11]),
      ]),
    ).toBe("linearizable");
  });

  it("a read concurrent with a write may see either value", () => {
    const before = [put(1, "a", [0, 1])];
    expect(verdict([...before, put(1, "b", [2, 10]), get(2, "a", [3, 4]), get(3, "b", [5, 6])])).toBe(
      "linearizable",
    );
    expect(verdict([...before, put(1, "b", [2, 10]), get(2, "b", [3, 4]), get(3, "b", [5, 6])])).toBe(
      "linearizable",
    );
  });

  it("concurrent writes may take effect in either order", () => {
    expect(verdict([put(1, "a", [0, 10]), put(2, "b", [1, 9]), get(3, "a", [11, 12])])).toBe("linearizable");
    expect(verdict([put(1, "a", [0, 10]), put(2, "b", [1, 9]), get(3, "b", [11, 12])])).toBe("linearizable");
  });

  it("operations that touch in time count as concurrent", () => {
    expect(verdict([put(1, "a", [0, 5]), get(2, null, [5, 6])])).toBe("linearizable");
  });
});

describe("anomalies are rejected, with a small window", () => {
  it("a stale read: a value read after a newer write completed", () => {
    const stale = put(1, "b", [2, 3]);
    const read = get(2, "a", [4, 5]);
    const history = [put(1, "a", [0, 1]), stale, read, get(1, "b", [6, 7])];
    expect(verdict(history)).toBe("not linearizable");
    expect(windowIds(history)).toEqual([stale.id, read.id]);
  });

  it("a lost write: an acknowledged put that a later read does not see", () => {
    const write = put(1, "a", [0, 1]);
    const read = get(2, null, [2, 3]);
    const history = [write, read];
    expect(verdict(history)).toBe("not linearizable");
    expect(windowIds(history)).toEqual([write.id, read.id]);
  });

  it("a read of a value never written", () => {
    const read = get(2, "ghost", [10, 11]);
    const history = [put(1, "a", [0, 1]), get(3, "a", [2, 3]), read];
    expect(verdict(history)).toBe("not linearizable");
    expect(windowIds(history)).toEqual([read.id]);
  });

  it("a write visible, then gone", () => {
    const seen = get(2, "a", [2, 3]);
    const gone = get(3, null, [4, 5]);
    const history = [put(1, "a", [0, 1]), seen, gone];
    expect(verdict(history)).toBe("not linearizable");
    expect(windowIds(history)).toEqual([seen.id, gone.id]);
  });

  it("a value seen by one reader, then the older one by a later reader, all during one write", () => {
    const history = [put(1, "a", [0, 1]), put(1, "b", [2, 20]), get(2, "b", [3, 4]), get(3, "a", [5, 6])];
    expect(verdict(history)).toBe("not linearizable");
  });

  it("a del that reports a key existed when it could not have", () => {
    expect(verdict([put(1, "a", [0, 1]), del(1, true, [2, 3]), del(2, true, [4, 5])])).toBe(
      "not linearizable",
    );
  });

  it("a failed write must not take effect", () => {
    expect(verdict([put(1, "a", [0, 1], "failed"), get(2, "a", [2, 3])])).toBe("not linearizable");
  });

  it("a search past its budget says so, rather than guess", () => {
    const history = [put(1, "a", [0, 10]), put(2, "b", [1, 9]), get(3, "b", [11, 12])];
    expect(checkHistory(history, { budget: 1 }).verdict).toBe("gave up");
  });

  it("only the key with the anomaly is reported", () => {
    const result = checkHistory([
      put(1, "a", [0, 1], "ok", "good"),
      get(2, "a", [2, 3], "ok", "good"),
      put(1, "a", [0, 1], "ok", "bad"),
      get(2, null, [2, 3], "ok", "bad"),
    ]);
    expect(result.anomalies.map((a) => a.key)).toEqual(["bad"]);
    expect(result.keys.map((k) => [k.key, k.verdict])).toEqual([
      ["bad", "not linearizable"],
      ["good", "linearizable"],
    ]);
  });

  it("the report names the key, the operations and the states the window may start from", () => {
    const history = [put(1, "a", [0, 1]), put(4, "b", [2, 3]), get(2, "a", [4, 5])];
    const [anomaly] = checkHistory(history).anomalies;
    if (!anomaly) throw new Error("no anomaly");
    const text = renderAnomaly(anomaly);
    expect(text).toContain("key k: NOT linearizable");
    expect(text).toContain("put k = b");
    expect(text).toContain("get k -> a");
    expect(text).toContain("any of: absent, a");
  });
});

describe("indeterminate operations may take effect or not", () => {
  it("an indeterminate put that took effect, seen long after the client gave up", () => {
    expect(verdict([put(1, "a", [0, 1], "indeterminate"), get(2, null, [2, 3]), get(2, "a", [50, 51])])).toBe(
      "linearizable",
    );
  });

  it("an indeterminate put that never took effect", () => {
    expect(
      verdict([put(1, "a", [0, 1], "indeterminate"), get(2, null, [2, 3]), get(2, null, [50, 51])]),
    ).toBe("linearizable");
  });

  it("but not before it was invoked, nor after a later write was read over it", () => {
    expect(verdict([get(2, "a", [0, 1]), put(1, "a", [2, 3], "indeterminate")])).toBe("not linearizable");
    expect(
      verdict([
        put(1, "a", [0, 1], "indeterminate"),
        get(2, "a", [2, 3]),
        put(2, "b", [4, 5]),
        get(2, "b", [6, 7]),
        get(3, "a", [8, 9]),
      ]),
    ).toBe("not linearizable");
  });

  it("an indeterminate del, either way", () => {
    const before = [put(1, "a", [0, 1]), del(2, null, [2, 3], "indeterminate")];
    expect(verdict([...before, get(3, "a", [4, 5])])).toBe("linearizable");
    expect(verdict([...before, get(3, null, [4, 5])])).toBe("linearizable");
    expect(verdict([...before, get(3, null, [4, 5]), get(3, "a", [6, 7])])).toBe("not linearizable");
  });

  it("an unseen indeterminate put still explains a del that found the key", () => {
    expect(
      verdict([
        put(1, "a", [0, 1]),
        del(1, true, [2, 3]),
        put(2, "b", [4, 5], "indeterminate"),
        del(1, true, [6, 7]),
      ]),
    ).toBe("linearizable");
  });

  it("an indeterminate get constrains nothing", () => {
    expect(verdict([put(1, "a", [0, 1]), get(2, "zzz", [2, 3], "indeterminate")])).toBe("linearizable");
  });
});

describe.each([
  { dels: 0, indeterminate: 0.05, what: "puts and gets, 5% of puts indeterminate" },
  { dels: 0.1, indeterminate: 0, what: "puts, gets and 10% dels" },
])("a generated history of 10,000 operations on 8 keys: $what", ({ dels, indeterminate }) => {
  const history = generateHistory({ ops: 10_000, keys: 8, clients: 10, seed: 7, indeterminate, dels });

  it("is found linearizable", () => {
    const result = checkHistory(history);
    expect(result.verdict).toBe("linearizable");
    expect(result.keys).toHaveLength(8);
  });

  it("with one read made stale, is rejected with a window of a few operations", () => {
    // A read in the second half that returned the latest value, changed to an older one.
    const puts = new Map<string, string[]>();
    const broken = [...history];
    let changed: number | undefined;
    for (const [i, op] of history.entries()) {
      if (op.kind === "put" && op.outcome === "ok") puts.set(op.key, [...(puts.get(op.key) ?? []), op.value]);
      if (i > 5000 && changed === undefined && op.kind === "get" && op.value !== null) {
        const written = puts.get(op.key) ?? [];
        const older = written[written.length - 3];
        if (older !== undefined && written.at(-1) === op.value) {
          broken[i] = { ...op, value: older };
          changed = op.id;
        }
      }
    }
    expect(changed).toBeDefined();
    const result = checkHistory(broken);
    expect(result.verdict).toBe("not linearizable");
    const [anomaly] = result.anomalies;
    if (!anomaly) throw new Error("no anomaly");
    expect(anomaly.window.ops.map((op) => anomaly.keyOps[op.index]?.id)).toContain(changed);
    expect(anomaly.window.ops.length).toBeLessThan(30);
  });
});
