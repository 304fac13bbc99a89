import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import { bytes, Network } from "./harness.js";

describe("ReadIndex", () => {
  it("the leader serves a read at its commit index after a heartbeat round", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.get(1).propose(bytes("x"));
    net.settle();
    net.hold = (m) => m.type === "heartbeatResp";
    expect(net.get(1).readIndex("r1")).toEqual({ ok: true });
    net.settle();
    // No quorum acknowledgement yet: the read must wait.
    expect(net.reads.get(nodeId(1))).toEqual([]);
    const [first] = net.held;
    if (!first) throw new Error("no heartbeat answer held");
    net.hold = () => false;
    net.deliver(first);
    net.settle();
    expect(net.reads.get(nodeId(1))).toEqual([{ context: "r1", index: 2 }]);
  });

  it("one heartbeat round confirms every read recorded before it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.get(1).readIndex(`r${i}`);
    net.settle();
    expect(net.reads.get(nodeId(1))?.map((r) => r.context)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
  });

  it("reads recorded between two readies share one heartbeat per follower", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.settle();
    const before = net.delivered.length;
    for (let i = 0; i < 20; i++) net.get(1).readIndex(`r${i}`);
    net.settle();
    const heartbeats = net.delivered.slice(before).filter((m) => m.type === "heartbeat");
    expect(heartbeats.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(net.reads.get(nodeId(1))).toHaveLength(20);
  });

  it("a follower forwards the read to its leader and serves it locally once applied", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.get(1).propose(bytes("x"));
    net.settle();
    expect(net.get(3).readIndex("f1")).toEqual({ ok: true });
    net.settle();
    expect(net.reads.get(nodeId(3))).toEqual([{ context: "f1", index: 2 }]);
    expect(net.get(3).appliedIndex).toBeGreaterThanOrEqual(2);
  });

  it("a member that knows no leader refuses the read", () => {
    const net = new Network([1, 2, 3]);
    expect(net.get(2).readIndex("x")).toEqual({ ok: false, reason: "notLeader", leader: 0 });
  });

  it("a deposed leader cut off from the quorum never serves a read", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.elect(2);
    net.get(2).propose(bytes("new"));
    net.settle();
    // Member 1 still believes it leads (its check-quorum timer has not fired yet).
    expect(net.get(1).role).toBe("leader");
    net.get(1).readIndex("stale?");
    net.settle();
    expect(net.reads.get(nodeId(1))).toEqual([]);
  });

  it("a new leader answers reads only after it has committed an entry of its term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.hold = (m) => m.type === "appendResp";
    net.crash(1);
    net.elect(2);
    const leader = net.get(2);
    expect(leader.role).toBe("leader");
    leader.readIndex("early");
    net.settle();
    expect(net.reads.get(nodeId(2))).toEqual([]);
    const held = net.held;
    net.held = [];
    net.hold = () => false;
    for (const m of held) net.deliver(m);
    net.settle();
    expect(net.reads.get(nodeId(2))).toEqual([{ context: "early", index: leader.commitIndex }]);
  });
});
