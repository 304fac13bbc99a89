import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import { applyConfChange } from "../../src/node/raft/raft.js";
import { bytes, ELECTION, freshDisk, ids, Network } from "./harness.js";

const empty = () => freshDisk({ voters: [], learners: [] });

describe("membership changes", () => {
  it("adds a learner that catches up, never votes nor campaigns, then promotes it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    net.add(4, empty());
    expect(net.get(1).proposeConfChange({ type: "addLearner", node: nodeId(4) })).toMatchObject({ ok: true });
    net.settle();
    net.tickAll(2);
    expect(net.get(4).lastIndex).toBe(net.get(1).lastIndex);
    expect(net.get(4).config).toEqual({ voters: ids(1, 2, 3), learners: ids(4) });
    // A learner does not campaign, however long it goes without a leader.
    net.isolate(4);
    net.tick(4, 5 * ELECTION);
    expect(net.get(4).role).toBe("follower");
    net.heal();
    expect(net.get(1).proposeConfChange({ type: "addVoter", node: nodeId(4) })).toMatchObject({ ok: true });
    net.settle();
    expect(net.get(1).config).toEqual({ voters: ids(1, 2, 3, 4), learners: [] });
    // With four voters, commit now needs three of them.
    net.isolate(4);
    net.cutLink(1, 3);
    net.get(1).propose(bytes("needs-3"));
    net.settle();
    expect(net.get(1).termAt(net.get(1).commitIndex)).toBe(net.get(1).term);
    const committedBefore = net.get(1).commitIndex;
    expect(net.get(1).lastIndex).toBeGreaterThan(committedBefore);
    net.heal();
    net.tickAll(2);
    expect(net.get(1).commitIndex).toBe(net.get(1).lastIndex);
  });

  it("allows one pending change at a time", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.hold = (m) => m.type === "appendResp";
    expect(net.get(1).proposeConfChange({ type: "addLearner", node: nodeId(4) })).toMatchObject({ ok: true });
    expect(net.get(1).proposeConfChange({ type: "addLearner", node: nodeId(5) })).toEqual({
      ok: false,
      reason: "confChangePending",
    });
  });

  it("a new leader makes no change before it has committed an entry of its term", () => {
    const net = new Network([1, 2, 3]);
    net.hold = (m) => m.type === "appendResp";
    // The voters are past the hold that follows a start; the candidate's timeout is longer.
    net.tick(2, ELECTION);
    net.tick(3, ELECTION);
    net.tick(1, 2 * ELECTION);
    expect(net.get(1).role).toBe("leader");
    expect(net.get(1).proposeConfChange({ type: "addLearner", node: nodeId(4) })).toEqual({
      ok: false,
      reason: "confChangePending",
    });
  });

  it("rejects changes that make no sense, with the reason", () => {
    const cfg = { voters: ids(1, 2), learners: ids(3) };
    expect(applyConfChange(cfg, { type: "addVoter", node: nodeId(1) })).toBe("node 1 is already a voter");
    expect(applyConfChange(cfg, { type: "addLearner", node: nodeId(3) })).toBe("node 3 is already a learner");
    expect(applyConfChange(cfg, { type: "removeNode", node: nodeId(9) })).toBe("node 9 is not a member");
    expect(applyConfChange({ voters: ids(1), learners: [] }, { type: "removeNode", node: nodeId(1) })).toBe(
      "cannot remove the last voter",
    );
    expect(applyConfChange(cfg, { type: "addVoter", node: nodeId(3) })).toEqual({
      voters: ids(1, 2, 3),
      learners: [],
    });
  });

  it("removing the leader: it commits its removal, steps aside, and a successor takes over at once", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    expect(net.get(1).proposeConfChange({ type: "removeNode", node: nodeId(1) })).toMatchObject({ ok: true });
    net.settle();
    expect(net.get(1).role).toBe("follower");
    const leader = net.leader();
    expect(leader && [2, 3].includes(leader.id)).toBe(true);
    expect(leader?.config).toEqual({ voters: ids(2, 3), learners: [] });
    // The removed member never campaigns again.
    net.tick(1, 5 * ELECTION);
    expect(net.get(1).role).toBe("follower");
  });

  it("a configuration takes effect when appended and reverts if the entry is overwritten", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.get(1).proposeConfChange({ type: "addLearner", node: nodeId(4) });
    net.settle();
    expect(net.get(1).config.learners).toEqual(ids(4));
    net.elect(2);
    net.get(2).propose(bytes("x"));
    net.settle();
    net.heal();
    net.tickAll(2 * ELECTION);
    expect(net.get(1).config).toEqual({ voters: ids(1, 2, 3), learners: [] });
  });
});

describe("leader transfer", () => {
  it("hands leadership to an up-to-date voter without waiting for a timeout", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.get(1).propose(bytes("x"));
    net.settle();
    expect(net.get(1).transferLeader(nodeId(3))).toEqual({ ok: true });
    net.settle();
    expect(net.get(3).role).toBe("leader");
    expect(net.get(1).role).toBe("follower");
  });

  it("catches the target up first, refusing proposals meanwhile", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    net.heal();
    net.hold = (m) => m.type === "appendResp" && m.from === 3;
    net.get(1).transferLeader(nodeId(3));
    net.tickAll(2);
    expect(net.get(3).role).toBe("follower");
    expect(net.get(1).propose(bytes("during"))).toEqual({ ok: false, reason: "transferring", leader: 3 });
    net.hold = () => false;
    net.held = [];
    net.tickAll(3);
    expect(net.get(3).role).toBe("leader");
    expect(net.get(3).lastIndex).toBeGreaterThanOrEqual(4);
  });

  it("gives up after an election timeout if the target does not respond", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.get(1).transferLeader(nodeId(3));
    net.tick(1, ELECTION);
    expect(net.get(1).role).toBe("leader");
    expect(net.get(1).propose(bytes("again"))).toMatchObject({ ok: true });
  });

  it("refuses a target that is not a voter", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    expect(net.get(1).transferLeader(nodeId(7))).toMatchObject({ ok: false, reason: "invalidConfChange" });
  });
});

describe("snapshotMetaAt", () => {
  it("gives the term and configuration at an index still in the log, and nothing outside it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const leader = net.get(1);
    leader.propose(bytes("a"));
    net.settle();
    const beforeChange = leader.lastIndex;
    net.add(4, empty());
    expect(leader.proposeConfChange({ type: "addLearner", node: nodeId(4) })).toMatchObject({ ok: true });
    net.settle();
    const changeIndex = leader.lastIndex;
    leader.propose(bytes("b"));
    net.settle();
    const three = { voters: ids(1, 2, 3), learners: [] };
    const withLearner = { voters: ids(1, 2, 3), learners: ids(4) };
    expect(leader.snapshotMetaAt(beforeChange)).toEqual({
      index: beforeChange,
      term: leader.term,
      config: three,
    });
    expect(leader.snapshotMetaAt(changeIndex)?.config).toEqual(withLearner);
    expect(leader.snapshotMetaAt(leader.lastIndex)?.config).toEqual(withLearner);
    expect(leader.snapshotMetaAt(leader.lastIndex + 1)).toBeUndefined();
    // After a compaction: the cut itself is still described, what lies before it is not.
    leader.compact(changeIndex, bytes("image"));
    expect(leader.snapshotMetaAt(changeIndex)).toEqual(leader.snapshotMeta);
    expect(leader.snapshotMetaAt(changeIndex - 1)).toBeUndefined();
    expect(leader.snapshotMetaAt(leader.lastIndex)?.config).toEqual(withLearner);
  });
});
