/**
 * Leadership moved on purpose: the pure choices (leadership.ts) on Raft members driven by hand,
 * then balancing and the hand-off before a stop on three stores over real storage.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type NodeId, nodeId } from "../../src/node/ids.js";
import { balanceTarget, handOffTarget } from "../../src/node/store/leadership.js";
import { bytes, ELECTION, Network } from "../raft/harness.js";
import { type Cluster, PARTITIONS, range, startCluster, until } from "./harness.js";

const [n1, n2, n3] = [1, 2, 3].map(nodeId) as [NodeId, NodeId, NodeId];

describe("handOffTarget and balanceTarget on Raft members driven by hand", () => {
  function electedNetwork(): Network {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.get(1).propose(bytes("a"));
    net.settle();
    return net;
  }

  it("hands off to a caught-up voter, the preferred one on a tie, never itself", () => {
    const net = electedNetwork();
    const leader = net.get(1);
    expect(handOffTarget(leader, n1, n3)).toBe(n3);
    expect(handOffTarget(leader, n1, n2)).toBe(n2);
    expect(handOffTarget(net.get(2), n2, n1)).toBeUndefined(); // not a leader
  });

  it("prefers the most caught-up voter, and skips one that stopped answering", () => {
    const net = electedNetwork();
    const leader = net.get(1);
    net.isolate(3);
    leader.propose(bytes("b"));
    net.settle();
    expect(handOffTarget(leader, n1, n3)).toBe(n2); // 3 is behind
    net.heal();
    net.cutLink(1, 3);
    net.tick(1, ELECTION); // a check-quorum round: 3 did not answer
    expect(leader.role).toBe("leader");
    expect(handOffTarget(leader, n1, n3)).toBe(n2);
  });

  it("balances only after the hold time, to a live caught-up voter other than itself", () => {
    const net = electedNetwork();
    const leader = net.get(1);
    expect(balanceTarget(leader, n1, n2, 999, 1000)).toBeUndefined(); // not held long enough
    expect(balanceTarget(leader, n1, n2, 1000, 1000)).toBe(n2);
    expect(balanceTarget(leader, n1, n1, 5000, 1000)).toBeUndefined(); // already balanced
    expect(balanceTarget(leader, n1, nodeId(9), 5000, 1000)).toBeUndefined(); // not a voter
    expect(balanceTarget(net.get(2), n2, n3, 5000, 1000)).toBeUndefined(); // not the leader
    // A dead replica's match equals the commit index while nothing is written: liveness decides.
    net.cutLink(1, 2);
    net.tick(1, ELECTION);
    expect(leader.role).toBe("leader");
    expect(leader.progressOf(n2)?.match).toBe(leader.commitIndex);
    expect(balanceTarget(leader, n1, n2, 5000, 1000)).toBeUndefined();
    expect(balanceTarget(leader, n1, n3, 5000, 1000)).toBe(n3);
  });
});

describe("Store leadership on real storage", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.destroy();
    cluster = undefined;
  });
  /** The member leading each partition by its own account, or undefined. */
  const leaderIds = (c: Cluster) =>
    range().map((p) => [...c.members].find(([id, m]) => m.store.leaderOf(p) === id)?.[0]);

  it("moves every partition to its balanced leader, then hands a stopping node's partitions off", async () => {
    // Three members replicate every partition, so any table is valid; this one is uneven on purpose.
    // The hold (200 ticks of 5 ms) keeps the new leaders from handing partitions back to node 3
    // while the test looks.
    const table = [3, 3, 2, 3].map(nodeId);
    expect(table).toHaveLength(PARTITIONS);
    const started = await startCluster({
      balancedLeaders: table,
      balanceEveryTicks: 4,
      balanceHoldTicks: 200,
    });
    cluster = started.cluster;
    const c = cluster;
    await until(() => leaderIds(c).every((leader, p) => leader === table[p]), 20_000, "the balanced leaders");

    const node3 = c.members.get(n3);
    if (!node3) throw new Error("no node 3");
    const result = await node3.store.handOffLeaderships(5000);
    expect(result).toEqual({ moved: 3, kept: 0 });
    expect(range().filter((p) => node3.store.leaderOf(p) === n3)).toEqual([]);
    await until(
      () => leaderIds(c).every((leader) => leader === n1 || leader === n2),
      10_000,
      "leaders on the two other nodes",
    );
  }, 40_000);
});
