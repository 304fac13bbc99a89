import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Message } from "../../src/node/raft/types.js";
import { bytes, ELECTION, fixedRandom, Network } from "./harness.js";

/** A lease lasts this many ticks after the round that gave it (raft.ts, LEASE_MARGIN_TICKS = 2). */
const LEASE = ELECTION - 2;

/** Member 1 leads, has committed an entry of its term, and one heartbeat round went out since. */
function elected(): Network {
  const net = new Network([1, 2, 3]);
  net.elect(1);
  net.get(1).propose(bytes("x"));
  net.tick(1);
  return net;
}

describe("leader lease", () => {
  it("a leader whose heartbeat round a quorum acknowledged reads at its commit index, without a round", () => {
    const net = elected();
    const leader = net.get(1);
    const before = net.delivered.length;
    expect(leader.leaseRead()).toBe(leader.commitIndex);
    expect(leader.commitIndex).toBe(2);
    net.settle();
    expect(net.delivered.length).toBe(before);
  });

  it("runs out an election timeout less the margin after the last round a quorum acknowledged", () => {
    const net = elected();
    net.isolate(1);
    // Each tick sends a round (HEARTBEAT = 1) that nobody answers now.
    for (let i = 0; i < LEASE - 1; i++) net.tick(1);
    expect(net.get(1).leaseRead()).toBe(2);
    net.tick(1);
    expect(net.get(1).role).toBe("leader");
    expect(net.get(1).leaseRead()).toBeUndefined();
    // A ReadIndex round is still possible in principle, and it would wait for a quorum.
    expect(net.get(1).readIndex("r")).toEqual({ ok: true });
  });

  it("one follower's acknowledgement is a quorum of three; none is not", () => {
    const net = elected();
    net.cutLink(1, 2);
    for (let i = 0; i < LEASE + 1; i++) net.tick(1);
    expect(net.get(1).leaseRead()).toBe(2);
    net.cutLink(1, 3);
    for (let i = 0; i < LEASE; i++) net.tick(1);
    expect(net.get(1).leaseRead()).toBeUndefined();
  });

  it("is not used before the leader has committed an entry of its term", () => {
    const net = new Network([1, 2, 3]);
    net.hold = (m) => m.type === "appendResp";
    net.elect(1);
    net.tick(1, 2);
    expect(net.get(1).role).toBe("leader");
    expect(net.delivered.some((m) => m.type === "heartbeatResp")).toBe(true);
    expect(net.get(1).leaseRead()).toBeUndefined();
  });

  it("ends when the leader sends TimeoutNow, even if the transfer never completes", () => {
    const net = elected();
    net.hold = (m) => m.type === "timeoutNow";
    expect(net.get(1).transferLeader(nodeId(2))).toEqual({ ok: true });
    net.settle();
    expect(net.held.map((m) => m.type)).toEqual(["timeoutNow"]);
    expect(net.get(1).leaseRead()).toBeUndefined();
    // The transfer is abandoned after an election timeout; the lease stays given up in this term.
    for (let i = 0; i < 2 * ELECTION; i++) net.tick(1);
    expect(net.get(1).role).toBe("leader");
    expect(net.get(1).leaseRead()).toBeUndefined();
  });

  it("needs check-quorum: without it followers do not refuse other candidates", () => {
    const net = new Network([1, 2, 3], { checkQuorum: false });
    net.elect(1);
    net.get(1).propose(bytes("x"));
    net.settle();
    expect(net.get(1).leaseRead()).toBeUndefined();
  });

  it("a member that just started ignores candidates for an election timeout", () => {
    const net = elected();
    net.crash(3);
    const restarted = net.restart(3);
    const vote: Message = {
      type: "preVote",
      from: nodeId(2),
      to: nodeId(3),
      term: restarted.term + 1,
      lastLogIndex: 10,
      lastLogTerm: restarted.term + 1,
      transfer: false,
    };
    const answers = (): Message[] => {
      if (!restarted.hasReady()) return [];
      const rd = restarted.ready();
      restarted.advance(rd);
      return rd.messages.filter((m) => m.type === "preVoteResp");
    };
    answers();
    for (let i = 0; i < ELECTION - 1; i++) restarted.tick();
    restarted.step(vote);
    expect(answers()).toEqual([]);
    restarted.tick();
    restarted.step(vote);
    expect(answers()).toEqual([expect.objectContaining({ type: "preVoteResp", reject: false })]);
  });

  it("no other member is elected while the isolated leader still holds its lease", () => {
    const net = elected();
    // Member 2 times out first (after one election timeout), so that 2 and 3 do not split votes.
    net.crash(2);
    net.restart(2, { random: fixedRandom(0) });
    net.isolate(1);
    let newLeader = false;
    for (let tick = 0; tick < 4 * ELECTION && !newLeader; tick++) {
      net.tickAll();
      newLeader = [2, 3].some((id) => net.get(id).role === "leader");
      if (newLeader) expect(net.get(1).leaseRead()).toBeUndefined();
    }
    expect(newLeader).toBe(true);
  });
});
