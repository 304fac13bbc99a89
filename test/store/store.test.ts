/**
 * The multi-Raft store on real storage (the Raft engine and RocksDB in temp dirs), three stores
 * in one process with messages delivered directly. Real processes over HTTP/2 are covered by
 * test/integration.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type NodeId, partitionId } from "../../src/node/ids.js";
import { encodeCommand } from "../../src/node/storage/commands.js";
import {
  bytes,
  type Cluster,
  type Member,
  put,
  range,
  startCluster as startStores,
  text,
  until,
} from "./harness.js";

let cluster: Cluster;
afterEach(async () => {
  await cluster.destroy();
});

async function startCluster(): Promise<Map<NodeId, string>> {
  const started = await startStores();
  cluster = started.cluster;
  return started.dirs;
}

describe("Store", () => {
  it("elects a leader per partition, replicates writes to every replica and serves linearizable reads on followers", async () => {
    await startCluster();
    for (const p of range()) {
      const leader = cluster.leaderOf(p) as Member;
      const applied = await leader.store.propose(p, put(`k${p}`, `v${p}`));
      expect(applied.term).toBeGreaterThan(0);
    }
    for (const p of range()) {
      for (const [id, m] of cluster.members) {
        if (m.store.leaderOf(p) === id) continue;
        await m.store.readBarrier(p);
        expect(text(await m.sm.get(p, bytes(`k${p}`)))).toBe(`v${p}`);
      }
    }
  });

  it("refuses a write on a follower, naming the leader", async () => {
    await startCluster();
    const p = partitionId(0);
    const leader = cluster.store(p);
    const follower = [...cluster.members.values()].find((m) => m !== leader) as Member;
    // A follower learns its leader from the leader's first message, which may still be on its way.
    const leaderId = leader.store.leaderOf(p);
    await until(() => follower.store.leaderOf(p) === leaderId, 10_000, "the follower to learn its leader");
    await expect(follower.store.propose(p, put("x", "y"))).rejects.toMatchObject({
      name: "NotLeaderError",
      leader: leaderId,
    });
  });

  it("survives the loss of a leader and keeps every acknowledged write across a full restart", async () => {
    const dirs = await startCluster();
    const p = partitionId(1);
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await cluster.propose(p, put(`key${i}`, `value${i}`));
      acked.push(`key${i}`);
    }
    const oldLeader = cluster.store(p).store.leaderOf(p);
    await cluster.stop(oldLeader as NodeId);
    await until(() => cluster.leaderOf(p) !== undefined, 10_000, "a new leader");
    await cluster.propose(p, put("after", "failover"));
    acked.push("after");
    for (const id of [...cluster.members.keys()]) await cluster.stop(id);
    for (const [id, dir] of dirs) await cluster.start(id, dir);
    await cluster.waitForLeaders();
    const leader = await cluster.readBarrier(p);
    for (const key of acked) expect(await leader.sm.get(p, bytes(key))).toBeDefined();
    // Applied exactly once: the state machine's applied index matches the Raft log's.
    for (const m of cluster.members.values()) {
      await until(() => m.sm.appliedIndex(p) === (leader.sm.appliedIndex(p) as number), 10_000, "catch-up");
    }
  });

  it("compacts the log, and a follower that was down catches up by snapshot to the leader's data", async () => {
    const dirs = await startCluster();
    const p = partitionId(2);
    const leader = cluster.store(p);
    const leaderId = leader.store.leaderOf(p) as NodeId;
    const followerId = [...cluster.members.keys()].find((id) => id !== leaderId) as NodeId;
    await cluster.propose(p, put("first", "1"));
    await until(
      () => (cluster.members.get(followerId)?.sm.appliedIndex(p) ?? 0) >= leader.sm.appliedIndex(p),
      10_000,
      "the follower to apply the first write",
    );
    const followerLast = cluster.members.get(followerId)?.store.groupStatus(p)?.lastIndex as number;
    await cluster.stop(followerId);

    // Far past several compactions (every 8 entries), with overwrites and deletes.
    for (let i = 0; i < 120; i++) {
      const key = `k${i % 30}`;
      const command = i % 7 === 6 ? encodeCommand({ type: "delete", key: bytes(key) }) : put(key, `v${i}`);
      await cluster.propose(p, command);
    }
    await until(
      () =>
        [...cluster.members.values()].every(
          (m) => (m.store.groupStatus(p)?.firstIndex ?? 0) > followerLast + 1,
        ),
      10_000,
      "the live replicas to compact past the stopped follower's log",
    );
    expect(leader.store.stats().compactions).toBeGreaterThanOrEqual(1);

    const follower = await cluster.start(followerId, dirs.get(followerId) as string);
    const current = () => cluster.store(p);
    const applied = (m: Member) => m.store.groupStatus(p)?.appliedIndex;
    await until(() => applied(follower) === applied(current()), 10_000, "the restarted follower to catch up");
    expect(follower.store.stats().snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(follower.store.groupStatus(p)?.snapshotsInstalled).toBeGreaterThanOrEqual(1);
    expect(current().store.stats().snapshotsSent).toBeGreaterThanOrEqual(1);
    const all = async (m: Member) =>
      (await m.sm.scan(p, {}, 1000)).entries.map((e) => [text(e.key), text(e.value)]);
    expect(await all(follower)).toEqual(await all(current()));
    expect(await all(follower)).toContainEqual(["k1", "v91"]);

    // Entries after the snapshot apply as usual, and a restart starts from the snapshot's meta.
    await cluster.propose(p, put("after", "snapshot"));
    await until(
      () => applied(follower) === applied(current()),
      10_000,
      "the follower to apply a write after the snapshot",
    );
    expect(text(await follower.sm.get(p, bytes("after")))).toBe("snapshot");
    await cluster.stop(followerId);
    const again = await cluster.start(followerId, dirs.get(followerId) as string);
    expect(again.store.groupStatus(p)?.firstIndex).toBeGreaterThan(followerLast + 1);
    await cluster.propose(p, put("after", "restart"));
    await until(
      () => applied(again) === applied(current()),
      10_000,
      "the follower to catch up after its restart",
    );
    expect(await all(again)).toEqual(await all(current()));
  });
});
