/**
 * The multi-Raft store on real storage (the Raft engine and RocksDB in temp dirs), three stores
 * in one process with messages delivered directly. Real processes over HTTP/2 are covered by
 * test/integration.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import { buildPlacement } from "../../src/node/ring/placement.js";
import { encodeCommand } from "../../src/node/storage/commands.js";
import { RaftEngine } from "../../src/node/storage/raft-engine.js";
import { StateMachine } from "../../src/node/storage/state-machine.js";
import { type GroupMessage, Store } from "../../src/node/store/store.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const PARTITIONS = 4;
const placement = buildPlacement({
  members: [1, 2, 3].map(nodeId),
  partitions: PARTITIONS,
  vnodes: 16,
  replication: 3,
});

interface Member {
  store: Store;
  engine: RaftEngine;
  sm: StateMachine;
}

class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly dirs: string[] = [];
  /** Links that drop everything, "from-to". */
  readonly cut = new Set<string>();

  async start(id: NodeId, dir: string): Promise<Member> {
    const engine = await RaftEngine.open(join(dir, "raft"), { fsync: false });
    const sm = await StateMachine.open(join(dir, "kv"));
    const store = await Store.open({
      self: id,
      placement,
      engine,
      stateMachine: sm,
      send: (to, messages) => this.deliver(id, to, messages),
      tickMs: 5,
      seed: id * 7919 + this.dirs.length,
    });
    const member = { store, engine, sm };
    this.members.set(id, member);
    store.start();
    return member;
  }

  async stop(id: NodeId): Promise<void> {
    const m = this.members.get(id);
    if (!m) return;
    this.members.delete(id);
    await m.store.close();
    await m.sm.close();
    await m.engine.close();
  }

  deliver(from: NodeId, to: NodeId, messages: GroupMessage[]): void {
    if (this.cut.has(`${from}-${to}`)) return;
    // Asynchronous like a network, so that no store re-enters another's cycle.
    setImmediate(() => this.members.get(to)?.store.receive(messages));
  }

  leaderOf(p: PartitionId): Member | undefined {
    for (const [id, m] of this.members) if (m.store.leaderOf(p) === id) return m;
    return undefined;
  }

  /** The member leading `p` right now. */
  store(p: PartitionId): Member {
    const leader = this.leaderOf(p);
    if (!leader) throw new Error(`partition ${p} has no leader`);
    return leader;
  }

  async waitForLeaders(timeoutMs = 10_000): Promise<void> {
    await until(
      () => range().every((p) => this.leaderOf(p) !== undefined),
      timeoutMs,
      "a leader for every partition",
    );
  }
}

const range = () => Array.from({ length: PARTITIONS }, (_, p) => partitionId(p));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let cluster: Cluster;
afterEach(async () => {
  for (const id of [...cluster.members.keys()]) await cluster.stop(id);
  await Promise.all(cluster.dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function startCluster(): Promise<Map<NodeId, string>> {
  cluster = new Cluster();
  const dirs = new Map<NodeId, string>();
  for (const id of [1, 2, 3].map(nodeId)) {
    const dir = await mkdtemp(join(tmpdir(), `tinyo-store-${id}-`));
    cluster.dirs.push(dir);
    dirs.set(id, dir);
    await cluster.start(id, dir);
  }
  await cluster.waitForLeaders();
  return dirs;
}

const put = (key: string, value: string) =>
  encodeCommand({ type: "put", key: bytes(key), value: bytes(value) });

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
    await expect(follower.store.propose(p, put("x", "y"))).rejects.toMatchObject({
      name: "NotLeaderError",
      leader: leader.store.leaderOf(p),
    });
  });

  it("survives the loss of a leader and keeps every acknowledged write across a full restart", async () => {
    const dirs = await startCluster();
    const p = partitionId(1);
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await cluster.store(p).store.propose(p, put(`key${i}`, `value${i}`));
      acked.push(`key${i}`);
    }
    const oldLeader = cluster.store(p).store.leaderOf(p);
    await cluster.stop(oldLeader as NodeId);
    await until(() => cluster.leaderOf(p) !== undefined, 10_000, "a new leader");
    await cluster.store(p).store.propose(p, put("after", "failover"));
    acked.push("after");
    for (const id of [...cluster.members.keys()]) await cluster.stop(id);
    for (const [id, dir] of dirs) await cluster.start(id, dir);
    await cluster.waitForLeaders();
    const leader = cluster.store(p);
    await leader.store.readBarrier(p);
    for (const key of acked) expect(await leader.sm.get(p, bytes(key))).toBeDefined();
    // Applied exactly once: the state machine's applied index matches the Raft log's.
    for (const m of cluster.members.values()) {
      await until(() => m.sm.appliedIndex(p) === (leader.sm.appliedIndex(p) as number), 10_000, "catch-up");
    }
  });
});
