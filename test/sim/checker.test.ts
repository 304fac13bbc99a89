/**
 * The checker on hand-made histories: each property must fail on a history that breaks it
 * (so a silent simulator means a correct core, not a blind checker) and pass on one that keeps it.
 */
import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Config, Entry, NodeId } from "../../src/node/raft/types.js";
import { Checker, type DurableLog, PropertyViolation } from "./checker.js";
import { encodePayload, StateMachine } from "./state-machine.js";

const [n1, n2, n3] = [nodeId(1), nodeId(2), nodeId(3)];
const voters: Config = { voters: [n1, n2, n3], learners: [] };

const write = (index: number, term: number, payload = ""): Entry => ({
  type: "normal",
  index,
  term,
  data: encodePayload(payload),
});

/** A log held in an array, from index 1 (no snapshot). */
class Log implements DurableLog {
  readonly config = voters;
  constructor(private readonly entries: Entry[]) {}
  get firstIndex(): number {
    return 1;
  }
  get lastIndex(): number {
    return this.entries.length;
  }
  get lastTerm(): number {
    return this.entries[this.entries.length - 1]?.term ?? 0;
  }
  termAt(index: number): number | undefined {
    return index === 0 ? 0 : this.entries[index - 1]?.term;
  }
}

function stateOf(...entries: Entry[]): StateMachine {
  const sm = StateMachine.empty();
  for (const e of entries) sm.apply(e);
  return sm;
}

function violationOf(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof PropertyViolation) return error.property;
    throw error;
  }
  return "none";
}

describe("checker", () => {
  it("detects two leaders in one term, and accepts one leader per term", () => {
    const c = new Checker();
    const log = new Log([]);
    c.leaderElected(n1, 1, log);
    c.leaderElected(n1, 1, log);
    c.leaderElected(n2, 2, log);
    expect(violationOf(() => c.leaderElected(n3, 2, log))).toBe("election safety");
  });

  it("detects logs that share an (index, term) with different entries or different histories", () => {
    const c = new Checker();
    c.entriesStored(n1, [write(1, 1, "a"), write(2, 1, "b")], 0);
    c.entriesStored(n2, [write(1, 1, "a")], 0);
    expect(violationOf(() => c.entriesStored(n2, [write(2, 1, "c")], 1))).toBe("log matching");

    const d = new Checker();
    d.entriesStored(n1, [write(1, 1, "a"), write(2, 1, "b"), write(3, 2, "c")], 0);
    expect(
      violationOf(() => d.entriesStored(n2, [write(1, 1, "a"), write(2, 2, "x"), write(3, 2, "c")], 0)),
    ).toBe("log matching");
  });

  it("detects a leader that lacks an entry committed in an earlier term", () => {
    const c = new Checker();
    c.commitAdvanced(n1, 1, 0, 2, new Log([write(1, 1, "a"), write(2, 1, "b")]));
    expect(violationOf(() => c.leaderElected(n2, 2, new Log([write(1, 1, "a")])))).toBe(
      "leader completeness",
    );
    // A leader of the committing term itself (elected before the commit) is not bound by it.
    expect(violationOf(() => c.leaderElected(n3, 1, new Log([write(1, 1, "a")])))).toBe("none");
  });

  it("detects a commit that a member lacking it could still overwrite by winning an election", () => {
    const logs = new Map<NodeId, Log>([
      [n1, new Log([write(1, 1), write(2, 2, "old")])],
      [n2, new Log([write(1, 1), write(2, 3, "newer")])],
      [n3, new Log([write(1, 1), write(2, 2, "old")])],
    ]);
    const c = new Checker(() => logs);
    // Figure 8: n1, leader of term 4, counts n1 and n3 for 2@2 and commits it.
    expect(violationOf(() => c.commitAdvanced(n1, 4, 0, 2, logs.get(n1) as Log))).toBe("leader completeness");
    // Once n3 also holds an entry of term 4, n2 can no longer win: no violation.
    logs.set(n1, new Log([write(1, 1), write(2, 2, "old"), write(3, 4)]));
    logs.set(n3, new Log([write(1, 1), write(2, 2, "old"), write(3, 4)]));
    expect(violationOf(() => new Checker(() => logs).commitAdvanced(n1, 4, 0, 3, logs.get(n1) as Log))).toBe(
      "none",
    );
  });

  it("detects divergent applied sequences, gaps, and a payload applied twice", () => {
    const c = new Checker();
    c.applied(n1, write(1, 1, "a"));
    expect(violationOf(() => c.applied(n2, write(1, 1, "b")))).toBe("state machine safety");

    const gap = new Checker();
    gap.applied(n1, write(1, 1, "a"));
    expect(violationOf(() => gap.applied(n1, write(3, 1, "c")))).toBe("state machine safety");

    const twice = new Checker();
    twice.applied(n1, write(1, 1, "a"));
    expect(violationOf(() => twice.applied(n1, write(2, 1, "a")))).toBe("state machine safety");
  });

  it("detects a snapshot image that lacks an applied entry", () => {
    const c = new Checker();
    c.applied(n1, write(1, 1, "a"));
    c.applied(n1, write(2, 1, "b"));
    const image = stateOf(write(1, 1, "a"), write(2, 1, ""));
    expect(violationOf(() => c.stateRestored(n2, 2, image))).toBe("state machine safety");
    expect(violationOf(() => c.stateRestored(n2, 2, stateOf(write(1, 1, "a"), write(2, 1, "b"))))).toBe(
      "none",
    );
  });

  it("detects a stale read, and lets a read miss writes acknowledged after it was asked", () => {
    const c = new Checker();
    c.readRequested(n2, "early");
    c.applied(n1, write(1, 1, "w1"));
    c.writeAcknowledged(n1, "w1", write(1, 1, "w1"));
    c.readRequested(n2, "late");
    const stale = StateMachine.empty();
    expect(violationOf(() => c.readServed(n2, "early", stale))).toBe("none");
    expect(violationOf(() => c.readServed(n2, "late", stale))).toBe("linearizable read");
  });

  it("detects an acknowledged write missing at the end, or acknowledged with another payload", () => {
    const c = new Checker();
    c.applied(n1, write(1, 1, "w1"));
    c.writeAcknowledged(n1, "w1", write(1, 1, "w1"));
    expect(violationOf(() => c.allWritesApplied([{ id: n1, state: stateOf(write(1, 1, "w1")) }]))).toBe(
      "none",
    );
    expect(violationOf(() => c.allWritesApplied([{ id: n2, state: StateMachine.empty() }]))).toBe(
      "acknowledged writes",
    );
    expect(violationOf(() => c.writeAcknowledged(n1, "w2", write(2, 1, "w3")))).toBe("acknowledged writes");
  });

  it("accepts a correct history", () => {
    const c = new Checker();
    const log = new Log([write(1, 1), write(2, 1, "a"), write(3, 2), write(4, 2, "b")]);
    c.leaderElected(n1, 1, new Log([write(1, 1)]));
    c.entriesStored(n1, [write(1, 1), write(2, 1, "a")], 0);
    c.entriesStored(n2, [write(1, 1), write(2, 1, "a")], 0);
    c.commitAdvanced(n1, 1, 0, 2, log);
    c.leaderGone(n1);
    c.leaderElected(n2, 2, log);
    c.entriesStored(n2, [write(3, 2), write(4, 2, "b")], 1);
    c.entriesStored(n3, [write(1, 1), write(2, 1, "a"), write(3, 2), write(4, 2, "b")], 0);
    c.commitAdvanced(n2, 2, 0, 4, log);
    for (const id of [n1, n2]) {
      for (let i = 1; i <= 4; i++)
        c.applied(id, [write(1, 1), write(2, 1, "a"), write(3, 2), write(4, 2, "b")][i - 1] as Entry);
    }
    c.writeAcknowledged(n2, "b", write(4, 2, "b"));
    c.readRequested(n1, "r");
    c.readServed(n1, "r", stateOf(write(1, 1), write(2, 1, "a"), write(3, 2), write(4, 2, "b")));
    expect(c.acknowledgedWrites).toEqual([{ payload: "b", index: 4 }]);
  });
});
