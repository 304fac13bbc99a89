import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Entry, Message } from "../../src/node/raft/types.js";
import { bytes, ELECTION, freshDisk, ids, Network, newMember, text } from "./harness.js";

describe("log replication", () => {
  it("replicates and commits proposals on every member, in order", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (const v of ["a", "b", "c"])
      expect(net.get(1).propose(bytes(v))).toMatchObject({ ok: true, term: 1 });
    net.settle();
    for (const id of [1, 2, 3]) {
      const payloads = (net.applied.get(nodeId(id)) as Entry[]).map(text);
      expect(payloads).toEqual(["", "a", "b", "c"]);
    }
  });

  it("refuses proposals on a follower, naming the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    expect(net.get(2).propose(bytes("x"))).toEqual({ ok: false, reason: "notLeader", leader: 1 });
  });

  it("batches proposals made between two ready cycles into one append per follower", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const before = net.delivered.length;
    for (let i = 0; i < 50; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    const appends = net.delivered.slice(before).filter((m) => m.type === "append" && m.entries.length > 0);
    expect(appends.length).toBe(2);
  });

  it("a leader counts only durable entries of its own: nothing commits before its ready is advanced", () => {
    const leader = newMember(1, freshDisk({ voters: ids(1), learners: [] }));
    for (let i = 0; i < 2 * ELECTION; i++) leader.tick();
    let rd = leader.ready();
    leader.advance(rd);
    expect(leader.commitIndex).toBe(1);
    leader.propose(bytes("x"));
    rd = leader.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(leader.commitIndex).toBe(1);
    leader.advance(rd);
    expect(leader.commitIndex).toBe(2);
  });

  it("overwrites a follower's conflicting uncommitted suffix and backtracks in few round trips", () => {
    // Member 3 leads term 1 alone and appends 100 entries nobody else sees.
    const net = new Network([1, 2, 3]);
    net.elect(3);
    net.isolate(3);
    for (let i = 0; i < 100; i++) net.get(3).propose(bytes(`lost${i}`));
    net.settle();
    net.crash(3);
    // 1 becomes leader in a later term and commits 10 entries with 2.
    net.heal();
    net.elect(1);
    for (let i = 0; i < 10; i++) net.get(1).propose(bytes(`kept${i}`));
    net.settle();
    const restarted = net.restart(3);
    expect(restarted.lastIndex).toBe(101);
    const before = net.delivered.length;
    net.tickAll(2);
    const rejects = net.delivered.slice(before).filter((m) => m.type === "appendResp" && m.reject);
    // Conflict hints skip the whole stale term at once instead of one index per round trip.
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(restarted.lastIndex).toBe(net.get(1).lastIndex);
    for (let i = 1; i <= restarted.lastIndex; i++) expect(restarted.termAt(i)).toBe(net.get(1).termAt(i));
  });

  it("pipelines appends to a follower, at most maxInflight at a time", () => {
    const net = new Network([1, 2], { maxInflight: 3, maxEntriesPerAppend: 1 });
    net.elect(1);
    const held: Message[] = [];
    net.hold = (m) => m.type === "appendResp";
    for (let i = 0; i < 10; i++) net.get(1).propose(bytes(`${i}`));
    net.settle();
    held.push(...net.held);
    // The window is full: three appends went out, none of them acknowledged yet.
    expect(held.length).toBe(3);
    net.hold = () => false;
    net.held = [];
    for (const m of held) net.deliver(m);
    net.settle();
    expect(net.get(2).lastIndex).toBe(11);
    expect(net.get(1).commitIndex).toBe(11);
  });

  it("never commits an earlier-term entry by counting its replicas, only through one of its own term (Figure 8)", () => {
    // A leader of term 3 whose log ends with an entry of term 2; followers acknowledge index 2.
    const config = { voters: ids(1, 2, 3), learners: [] };
    const leader = newMember(1, {
      hardState: { term: 2, vote: 0, commit: 1 },
      snapshot: { meta: { index: 0, term: 0, config }, data: bytes("") },
      entries: [
        { type: "normal", term: 1, index: 1, data: bytes("a") },
        { type: "normal", term: 2, index: 2, data: bytes("b") },
      ],
    });
    for (let i = 0; i < 2 * ELECTION; i++) leader.tick();
    const grant = (from: number, type: "preVoteResp" | "voteResp", term: number): Message => ({
      type,
      from: nodeId(from),
      to: nodeId(1),
      term,
      reject: false,
    });
    leader.step(grant(2, "preVoteResp", 3));
    leader.step(grant(2, "voteResp", 3));
    expect(leader.role).toBe("leader");
    leader.advance(leader.ready());
    // A follower acknowledges index 2 but not yet the no-op at 3: commit must stay at 1.
    leader.step({
      type: "appendResp",
      from: nodeId(2),
      to: nodeId(1),
      term: 3,
      reject: false,
      index: 2,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(leader.commitIndex).toBe(1);
    leader.step({
      type: "appendResp",
      from: nodeId(2),
      to: nodeId(1),
      term: 3,
      reject: false,
      index: 3,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(leader.commitIndex).toBe(3);
  });
});

describe("snapshots and compaction", () => {
  it("sends a snapshot to a follower that needs compacted entries, then resumes appends", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 20; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    const leader = net.get(1);
    leader.compact(leader.appliedIndex, bytes("image@21"));
    expect(leader.firstIndex).toBe(22);
    net.heal();
    leader.propose(bytes("after"));
    net.settle();
    net.tickAll(2);
    const follower = net.get(3);
    expect(net.disks.get(nodeId(3))?.snapshot.data).toEqual(bytes("image@21"));
    expect(follower.snapshotMeta.index).toBe(21);
    expect(follower.lastIndex).toBe(leader.lastIndex);
    expect(follower.commitIndex).toBe(leader.commitIndex);
    expect(follower.appliedIndex).toBe(leader.commitIndex);
  });

  it("retries a snapshot that was lost", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 5; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    net.get(1).compact(net.get(1).appliedIndex, bytes("img"));
    net.heal();
    net.hold = (m) => m.type === "snapshot";
    net.tickAll(2);
    expect(net.held.length).toBe(1);
    net.hold = () => false;
    net.tickAll(3 * ELECTION);
    expect(net.get(3).snapshotMeta.index).toBe(6);
  });

  it("restarts from a snapshot and the log after it", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 5; i++) net.get(1).propose(bytes(`v${i}`));
    net.settle();
    const m2 = net.get(2);
    m2.compact(4, bytes("img@4"));
    const disk = net.disks.get(nodeId(2));
    if (!disk) throw new Error("no disk");
    disk.snapshot = { meta: m2.snapshotMeta, data: bytes("img@4") };
    disk.entries = disk.entries.filter((e) => e.index > 4);
    net.crash(2);
    const restarted = net.restart(2);
    expect(restarted.firstIndex).toBe(5);
    net.tickAll(1);
    expect(net.applied.get(nodeId(2))?.map(text)).toEqual(["v3", "v4"]);
  });
});
