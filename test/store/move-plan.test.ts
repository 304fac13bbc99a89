import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Config } from "../../src/node/raft/types.js";
import { CATCH_UP_SLACK, type LeaderProgress, nextMoveStep } from "../../src/node/store/move-plan.js";

const ids = (...n: number[]) => n.map(nodeId);
const cfg = (voters: number[], learners: number[] = []): Config => ({
  voters: ids(...voters),
  learners: ids(...learners),
});
/** A leader at index 100 whose members all match `match` (or the given ones), all active. */
const leader = (match: Record<number, number> = {}, fallback = 100): LeaderProgress => ({
  lastIndex: 100,
  commitIndex: 100,
  progressOf: (n) => ({ match: match[n] ?? fallback, recentActive: true }),
});
const self = nodeId(1);

describe("nextMoveStep", () => {
  it("adds the new replica as a learner first, only when a move may start", () => {
    expect(nextMoveStep(self, cfg([1, 2, 3]), cfg([1, 2, 4]), leader(), true)).toEqual({
      kind: "addLearner",
      node: 4,
    });
    expect(nextMoveStep(self, cfg([1, 2, 3]), cfg([1, 2, 4]), leader(), false)).toBeUndefined();
  });

  it("waits for the learner to catch up, then promotes it", () => {
    const behind = leader({ 4: 100 - CATCH_UP_SLACK - 1 });
    expect(nextMoveStep(self, cfg([1, 2, 3], [4]), cfg([1, 2, 4]), behind, true)).toEqual({
      kind: "catchingUp",
      node: 4,
    });
    expect(nextMoveStep(self, cfg([1, 2, 3], [4]), cfg([1, 2, 4]), leader({ 4: 90 }), true)).toEqual({
      kind: "promote",
      node: 4,
    });
  });

  it("removes the replaced voter only once every target voter votes", () => {
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), cfg([1, 2, 4]), leader(), true)).toEqual({
      kind: "remove",
      node: 3,
    });
  });

  it("a leader that must go hands leadership to a caught-up target voter, never removes itself", () => {
    const step = nextMoveStep(
      self,
      cfg([1, 2, 3, 4]),
      cfg([2, 3, 4]),
      leader({ 2: 80, 3: 100, 4: 99 }),
      true,
    );
    expect(step).toEqual({ kind: "transferLeader", to: 3 });
    const noneReady = leader({ 2: 0, 3: 0, 4: 0 });
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), cfg([2, 3, 4]), noneReady, true)).toBeUndefined();
  });

  it("turns a voter the target wants as a learner into one: remove, then add as a learner", () => {
    const target = cfg([1, 2, 3], [4]);
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), target, leader(), true)).toEqual({
      kind: "remove",
      node: 4,
    });
    expect(nextMoveStep(self, cfg([1, 2, 3]), target, leader(), true)).toEqual({
      kind: "addLearner",
      node: 4,
    });
  });

  it("in the metadata group, removes a live member only once it has every committed entry", () => {
    const lagging = leader({ 3: 99 });
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), cfg([1, 2, 4]), lagging, true, true)).toBeUndefined();
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), cfg([1, 2, 4]), lagging, true, false)).toEqual({
      kind: "remove",
      node: 3,
    });
    const dead: LeaderProgress = {
      ...lagging,
      progressOf: (n) => ({ match: n === 3 ? 0 : 100, recentActive: n !== 3 }),
    };
    expect(nextMoveStep(self, cfg([1, 2, 3, 4]), cfg([1, 2, 4]), dead, true, true)).toEqual({
      kind: "remove",
      node: 3,
    });
  });

  it("removes an unwanted learner, and does nothing at the target", () => {
    expect(nextMoveStep(self, cfg([1, 2, 3], [5]), cfg([1, 2, 3]), leader(), true)).toEqual({
      kind: "remove",
      node: 5,
    });
    expect(nextMoveStep(self, cfg([3, 1, 2]), cfg([1, 2, 3]), leader(), true)).toBeUndefined();
  });
});
