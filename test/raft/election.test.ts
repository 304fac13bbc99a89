import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Message } from "../../src/node/raft/types.js";
import { bytes, ELECTION, fixedRandom, freshDisk, ids, Network, newMember } from "./harness.js";

describe("leader election", () => {
  it("a single voter elects itself and commits its no-op", () => {
    const net = new Network([1]);
    net.elect(1);
    const m = net.get(1);
    expect(m.term).toBe(1);
    expect(m.commitIndex).toBe(1);
  });

  it("three voters elect the first to time out, in term 1", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    expect(net.get(2).leader).toBe(1);
    expect(net.get(3).leader).toBe(1);
    expect([1, 2, 3].map((i) => net.get(i).term)).toEqual([1, 1, 1]);
    expect([1, 2, 3].map((i) => net.get(i).commitIndex)).toEqual([1, 1, 1]);
  });

  it("waits a randomized timeout in [election, 2 x election) before campaigning", () => {
    const m = newMember(1, freshDisk({ voters: ids(1, 2, 3), learners: [] }), { random: fixedRandom(4) });
    for (let i = 0; i < ELECTION + 3; i++) m.tick();
    expect(m.role).toBe("follower");
    m.tick();
    expect(m.role).toBe("preCandidate");
  });

  it("pre-vote: a member cut off from the others campaigns without raising its term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.tick(3, 5 * ELECTION);
    expect(net.get(3).term).toBe(1);
    expect(net.get(3).role).toBe("preCandidate");
    net.heal();
    net.tickAll(3);
    // Back in touch, it rejoins without deposing the leader.
    expect(net.get(1).role).toBe("leader");
    expect(net.get(1).term).toBe(1);
    expect(net.get(3).leader).toBe(1);
  });

  it("without pre-vote, the same member comes back with a higher term and forces an election", () => {
    const net = new Network([1, 2, 3], { preVote: false, checkQuorum: false });
    net.elect(1);
    net.isolate(3);
    net.tick(3, 5 * ELECTION);
    expect(net.get(3).term).toBeGreaterThan(1);
  });

  it("grants one vote per term, and only to a candidate whose log is at least as up to date", () => {
    const m = newMember(1, freshDisk({ voters: ids(1, 2, 3), learners: [] }));
    // Past the hold that follows a start (see the leader lease tests).
    for (let i = 0; i < ELECTION; i++) m.tick();
    const vote = (from: number, term: number, lastLogIndex: number, lastLogTerm: number): Message => ({
      type: "vote",
      from: nodeId(from),
      to: nodeId(1),
      term,
      lastLogIndex,
      lastLogTerm,
      transfer: false,
    });
    const answers = (): Message[] => {
      const rd = m.ready();
      m.advance(rd);
      return [...rd.messages];
    };
    m.step(vote(2, 1, 0, 0));
    let rd = m.ready();
    // Persist before send: the vote is in the hard state of the very ready that carries the grant.
    expect(rd.hardState).toEqual({ term: 1, vote: 2, commit: 0 });
    expect(rd.messages).toEqual([expect.objectContaining({ type: "voteResp", to: 2, reject: false })]);
    m.advance(rd);
    m.step(vote(3, 1, 0, 0));
    expect(answers()).toEqual([expect.objectContaining({ type: "voteResp", to: 3, reject: true })]);

    // A log ending in a later term wins over a longer log ending earlier (§5.4.1).
    const n = newMember(1, {
      hardState: { term: 2, vote: 0, commit: 0 },
      snapshot: {
        meta: { index: 0, term: 0, config: { voters: ids(1, 2, 3), learners: [] } },
        data: bytes(""),
      },
      entries: [
        { type: "normal", term: 1, index: 1, data: bytes("a") },
        { type: "normal", term: 2, index: 2, data: bytes("b") },
      ],
    });
    for (let i = 0; i < ELECTION; i++) n.tick();
    n.step({ ...vote(2, 3, 5, 1), to: nodeId(1) });
    rd = n.ready();
    expect(rd.messages).toEqual([expect.objectContaining({ type: "voteResp", reject: true })]);
    n.advance(rd);
    n.step({ ...vote(3, 3, 2, 2), to: nodeId(1) });
    rd = n.ready();
    expect(rd.messages).toEqual([expect.objectContaining({ type: "voteResp", to: 3, reject: false })]);
  });

  it("a candidate whose log lacks committed entries cannot win", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.get(1).propose(bytes("x"));
    net.settle();
    expect(net.get(2).commitIndex).toBe(2);
    net.crash(1);
    net.heal();
    net.tick(3, 4 * ELECTION);
    expect(net.get(3).role).not.toBe("leader");
    net.tick(2, 4 * ELECTION);
    expect(net.get(2).role).toBe("leader");
  });

  it("check-quorum: a leader that cannot reach a quorum steps down within an election timeout", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.tick(1, 2 * ELECTION);
    expect(net.get(1).role).toBe("follower");
    expect(net.get(1).propose(bytes("x"))).toEqual({ ok: false, reason: "notLeader", leader: 0 });
  });

  it("leader stickiness: a follower that hears from its leader ignores a disruptive vote", () => {
    const net = new Network([1, 2, 3], { preVote: false });
    net.elect(1);
    net.get(2).step({
      type: "vote",
      from: nodeId(3),
      to: nodeId(2),
      term: 5,
      lastLogIndex: 10,
      lastLogTerm: 5,
      transfer: false,
    });
    expect(net.get(2).term).toBe(1);
    expect(net.get(2).hasReady()).toBe(false);
  });

  it("a deposed leader learns the new term from the first follower it contacts", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.elect(2);
    expect(net.get(2).role).toBe("leader");
    net.heal();
    net.tick(1, 1);
    expect(net.get(1).role).toBe("follower");
    expect(net.get(1).term).toBe(net.get(2).term);
  });

  it("restarts from the persisted term and vote and never votes twice in a term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const term = net.get(2).term;
    net.crash(2);
    const m = net.restart(2);
    expect(m.term).toBe(term);
    expect(m.vote).toBe(1);
    expect(m.commitIndex).toBe(1);
  });
});
