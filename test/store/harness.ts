/**
 * Three in-process stores on real storage (the Raft engine and RocksDB in temp dirs), with
 * messages and snapshot streams delivered directly (asynchronously, as a network would).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import type { Message } from "../../src/node/raft/types.js";
import type { Placement } from "../../src/node/ring/placement.js";
import { buildPlacement } from "../../src/node/ring/placement.js";
import { encodeCommand } from "../../src/node/storage/commands.js";
import { RaftEngine } from "../../src/node/storage/raft-engine.js";
import { StateMachine } from "../../src/node/storage/state-machine.js";
import { type GroupMessage, Store } from "../../src/node/store/store.js";

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);
export const PARTITIONS = 4;
export const placement = buildPlacement({
  members: [1, 2, 3].map(nodeId),
  partitions: PARTITIONS,
  vnodes: 16,
  replication: 3,
});

export interface Member {
  store: Store;
  engine: RaftEngine;
  sm: StateMachine;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly dirs: string[] = [];
  /** Links that drop everything, "from-to". */
  readonly cut = new Set<string>();

  /** Compaction for every store started from now on: small, so that every test compacts. */
  compaction = { everyEntries: 8, checkMs: 10 };
  /** The placement every store started from now on targets (setPlacement changes running ones). */
  placement: Placement = placement;
  /** Leader balancing for every store started from now on: none unless a test sets a table. */
  balance: { balancedLeaders?: NodeId[]; balanceEveryTicks?: number; balanceHoldTicks?: number } = {};

  async start(id: NodeId, dir: string, options: { join?: boolean } = {}): Promise<Member> {
    const engine = await RaftEngine.open(join(dir, "raft"), { fsync: false });
    const sm = await StateMachine.open(join(dir, "kv"));
    const store = await Store.open({
      self: id,
      placement: this.placement,
      join: options.join,
      moveEveryTicks: 4,
      onReplicaRemoved: (p, node) => void this.members.get(node)?.store.eraseReplica(p),
      engine,
      stateMachine: sm,
      send: (to, messages) => this.deliver(id, to, messages),
      sendSnapshot: (group, message, chunks) => this.deliverSnapshot(id, group, message, chunks),
      compaction: this.compaction,
      ...this.balance,
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

  /** Stops every store and deletes the directories. */
  async destroy(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }

  deliver(from: NodeId, to: NodeId, messages: GroupMessage[]): void {
    if (this.cut.has(`${from}-${to}`)) return;
    // Asynchronous like a network, so that no store re-enters another's cycle.
    setImmediate(() => this.members.get(to)?.store.receive(messages));
  }

  /** A snapshot stream, handed to the receiving store as the transport would. */
  async deliverSnapshot(
    from: NodeId,
    group: PartitionId,
    message: Extract<Message, { type: "snapshot" }>,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<{ installed: boolean }> {
    await new Promise((r) => setImmediate(r));
    const to = this.members.get(message.to);
    if (!to || this.cut.has(`${from}-${message.to}`)) throw new Error(`node ${message.to} is unreachable`);
    return to.store.receiveSnapshot({ from, group, message, chunks });
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

  /**
   * Proposes `command` at whoever leads `p` now, again if leadership moves first (5 ms ticks
   * in one busy process do move it now and then); returns the leader that applied it.
   */
  async propose(p: PartitionId, command: Uint8Array, timeoutMs = 10_000): Promise<Member> {
    return this.atLeader(p, timeoutMs, async (m) => {
      await m.store.propose(p, command);
    });
  }

  /** A ReadIndex barrier at whoever leads `p`, as `propose`; returns that leader. */
  async readBarrier(p: PartitionId, timeoutMs = 10_000): Promise<Member> {
    return this.atLeader(p, timeoutMs, (m) => m.store.readBarrier(p));
  }

  private async atLeader(
    p: PartitionId,
    timeoutMs: number,
    work: (m: Member) => Promise<void>,
  ): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leaderOf(p);
      try {
        if (leader) {
          await work(leader);
          return leader;
        }
      } catch (error) {
        const retry = ["NotLeaderError", "ProposalDroppedError", "ProposalOutcomeUnknownError"];
        if (!(error instanceof Error) || !retry.includes(error.name) || Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`partition ${p} had no leader to serve the request`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

export const range = () => Array.from({ length: PARTITIONS }, (_, p) => partitionId(p));

export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts three stores (nodes 1 to 3) in fresh directories and waits for every leader. */
export async function startCluster(
  balance: Cluster["balance"] = {},
): Promise<{ cluster: Cluster; dirs: Map<NodeId, string> }> {
  const cluster = new Cluster();
  cluster.balance = balance;
  const dirs = new Map<NodeId, string>();
  for (const id of [1, 2, 3].map(nodeId)) {
    const dir = await mkdtemp(join(tmpdir(), `tinyo-store-${id}-`));
    cluster.dirs.push(dir);
    dirs.set(id, dir);
    await cluster.start(id, dir);
  }
  await cluster.waitForLeaders();
  return { cluster, dirs };
}

export const put = (key: string, value: string) =>
  encodeCommand({ type: "put", key: bytes(key), value: bytes(value) });
