import type { NodeId, PartitionId } from "../ids.js";
import { RaftNode } from "../raft/raft.js";
import type { Message, Ready, RestartState } from "../raft/types.js";
import { Random } from "../random.js";
import type { Placement } from "../ring/placement.js";
import type { GroupWrite, RaftEngine } from "../storage/raft-engine.js";
import { NotLeaderError, NotReplicaError, StoreClosedError } from "./errors.js";
import { type Applied, Group } from "./group.js";

const EMPTY = new Uint8Array(0);

export interface GroupMessage {
  readonly group: PartitionId;
  readonly message: Message;
}

/** What the store needs of the state machine (RocksDB, in src/node/storage). */
export interface ReplicatedStateMachine {
  appliedIndex(partition: PartitionId): number | Promise<number>;
  apply(partition: PartitionId, entries: readonly { index: number; data: Uint8Array }[]): Promise<unknown>;
}

export interface StoreOptions {
  readonly self: NodeId;
  readonly placement: Placement;
  readonly engine: RaftEngine;
  readonly stateMachine: ReplicatedStateMachine;
  /** Hands messages to the transport; must not block. */
  readonly send: (to: NodeId, messages: GroupMessage[]) => void;
  /** Milliseconds per Raft tick; heartbeats every tick, elections after 10-20 ticks by default. */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Seeds the groups' election timeouts; a node should pass something different per start. */
  readonly seed: number;
  /** Called when the store fails (storage error): the node must stop. */
  readonly onFatal?: (error: Error) => void;
}

export interface GroupStatus {
  readonly partition: PartitionId;
  readonly role: string;
  readonly term: number;
  readonly leader: NodeId | 0;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * The multi-Raft host: every Raft group this node is a member of, driven by one tick timer and
 * one ready cycle. A cycle takes the ready of every group that has one, makes all their entries
 * and hard states durable with ONE engine write (one fdatasync), then sends every group's
 * messages in one batch per peer, applies committed entries to the state machine, and answers
 * the proposals and reads waiting on them. Inputs arriving meanwhile are stepped into the cores
 * at once and handled by the next cycle, so batches grow with the load (group commit).
 */
export class Store {
  private readonly groups = new Map<PartitionId, Group>();
  private timer: NodeJS.Timeout | undefined;
  private cycleRunning = false;
  private cycleWanted = false;
  private idle: Promise<void> = Promise.resolve();
  private closedReason: string | undefined;

  private constructor(private readonly options: StoreOptions) {}

  /** Loads every group this node replicates from the engine and the state machine. */
  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(options);
    const { placement, self } = options;
    for (const p of placement.partitionsOf(self)) {
      const state = await store.restartState(p);
      const random = new Random(options.seed, p + 1);
      const raft = new RaftNode(
        {
          id: self,
          electionTicks: options.electionTicks ?? 10,
          heartbeatTicks: options.heartbeatTicks ?? 1,
          random: (n) => random.int(n),
        },
        state,
      );
      store.groups.set(p, new Group(p, raft));
    }
    return store;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 50);
    this.schedule();
  }

  partitions(): PartitionId[] {
    return [...this.groups.keys()];
  }

  /** Messages from a peer (the transport's onMessages). Messages for groups we do not host are dropped. */
  receive(messages: readonly GroupMessage[]): void {
    if (this.closedReason) return;
    for (const { group, message } of messages) this.groups.get(group)?.raft.step(message);
    this.schedule();
  }

  /** Replicates `data` in `partition`; resolves once applied on this node (this node must lead). */
  propose(partition: PartitionId, data: Uint8Array): Promise<Applied> {
    const group = this.group(partition);
    const applied = group.propose(data);
    this.schedule();
    return applied;
  }

  /** Resolves when this replica's state machine may be read linearizably (ReadIndex). */
  readBarrier(partition: PartitionId): Promise<void> {
    const barrier = this.group(partition).readBarrier();
    this.schedule();
    return barrier;
  }

  leaderOf(partition: PartitionId): NodeId | 0 {
    return this.groups.get(partition)?.raft.leader ?? 0;
  }

  status(): GroupStatus[] {
    return [...this.groups.values()].map(groupStatusOf);
  }

  /** One group's status (for a response header); undefined when the partition has no replica here. */
  groupStatus(partition: PartitionId): GroupStatus | undefined {
    const group = this.groups.get(partition);
    return group && groupStatusOf(group);
  }

  /**
   * Asks this node's member, which must lead the partition, to hand leadership to `to` (a voter).
   * Returns at once; the transfer completes (or is abandoned) within an election timeout: watch
   * `leaderOf`. Throws NotLeaderError when this node does not lead, RangeError for a bad target.
   */
  transferLeader(partition: PartitionId, to: NodeId): void {
    const group = this.group(partition);
    const result = group.raft.transferLeader(to);
    if (!result.ok) {
      if (result.reason === "invalidConfChange") throw new RangeError(result.detail);
      throw new NotLeaderError(partition, "leader" in result ? result.leader : group.raft.leader);
    }
    this.schedule();
  }

  /** Stops ticking, waits for the cycle in flight, and fails whatever still waits. */
  async close(reason = "the node is shutting down"): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closedReason ??= reason;
    await this.idle;
    const error = new StoreClosedError(this.closedReason);
    for (const group of this.groups.values()) group.failAll(error);
  }

  private group(partition: PartitionId): Group {
    if (this.closedReason) throw new StoreClosedError(this.closedReason);
    const group = this.groups.get(partition);
    if (!group) throw new NotReplicaError(partition);
    return group;
  }

  private tick(): void {
    for (const group of this.groups.values()) group.raft.tick();
    this.schedule();
  }

  private schedule(): void {
    if (this.closedReason) return;
    if (this.cycleRunning) {
      this.cycleWanted = true;
      return;
    }
    this.cycleRunning = true;
    // setImmediate, not a microtask: let every message and request of this turn reach the
    // cores first, so that one cycle carries them all.
    this.idle = new Promise((resolve) => setImmediate(() => this.runCycles().then(resolve)));
  }

  private async runCycles(): Promise<void> {
    try {
      do {
        this.cycleWanted = false;
        await this.cycle();
      } while (this.cycleWanted && !this.closedReason);
    } catch (error) {
      // Storage failed: continuing could acknowledge what is not durable. Stop serving.
      const err = error instanceof Error ? error : new Error(String(error));
      this.closedReason = `storage failed: ${err.message}`;
      if (this.timer) clearInterval(this.timer);
      for (const group of this.groups.values()) group.failAll(new StoreClosedError(this.closedReason));
      this.options.onFatal?.(err);
    } finally {
      this.cycleRunning = false;
    }
  }

  private async cycle(): Promise<void> {
    const readies: { group: Group; ready: Ready; leaderChanged: boolean }[] = [];
    const writes: GroupWrite[] = [];
    for (const group of this.groups.values()) {
      if (!group.raft.hasReady()) continue;
      const ready = group.raft.ready();
      readies.push({ group, ready, leaderChanged: group.noteLeader(ready.softState.leader) });
      if (ready.entries.length > 0 || ready.hardState || ready.snapshot) {
        writes.push({
          group: group.partition,
          entries: ready.entries,
          hardState: ready.hardState,
          snapshot: ready.snapshot?.meta,
        });
      }
    }
    if (readies.length === 0) return;
    // 1. Durable first: nothing below may depend on state that a crash could lose.
    if (writes.length > 0) await this.options.engine.write(writes);
    // 2. One batch per peer for all groups.
    const outbox = new Map<NodeId, GroupMessage[]>();
    for (const { group, ready } of readies) {
      for (const message of ready.messages) {
        let batch = outbox.get(message.to);
        if (!batch) {
          batch = [];
          outbox.set(message.to, batch);
        }
        batch.push({ group: group.partition, message });
      }
    }
    for (const [to, batch] of outbox) this.options.send(to, batch);
    // 3. Apply, then answer what waited on it.
    await Promise.all(
      readies.map(async ({ group, ready }) => {
        const entries = ready.committedEntries;
        if (entries.length > 0) {
          await this.options.stateMachine.apply(
            group.partition,
            entries.map((e) => ({ index: e.index, data: e.type === "normal" ? e.data : EMPTY })),
          );
        }
      }),
    );
    for (const { group, ready, leaderChanged } of readies) {
      group.raft.advance(ready);
      group.onApplied(ready.committedEntries);
      if (leaderChanged) group.onLeaderChanged();
      group.onReadStates(ready.readStates);
      group.serveReads();
      // advance() can make a group ready again (a lone voter, or a leader whose own persistence
      // completes the quorum, commits right there): run another cycle now rather than at the
      // next tick, which would add up to a tick to every write.
      if (group.raft.hasReady()) this.cycleWanted = true;
    }
  }

  private async restartState(partition: PartitionId): Promise<RestartState> {
    const stored = this.options.engine.load(partition);
    const applied = await this.options.stateMachine.appliedIndex(partition);
    const initial = { voters: this.options.placement.preferenceList(partition), learners: [] };
    const meta = stored.snapshot ?? { index: 0, term: 0, config: initial };
    return {
      hardState: stored.hardState,
      snapshot: { meta, data: EMPTY },
      entries: stored.entries,
      applied: Math.max(applied, meta.index),
    };
  }
}

function groupStatusOf({ partition, raft }: Group): GroupStatus {
  return {
    partition,
    role: raft.role,
    term: raft.term,
    leader: raft.leader,
    commitIndex: raft.commitIndex,
    appliedIndex: raft.appliedIndex,
    lastIndex: raft.lastIndex,
    voters: raft.config.voters,
    learners: raft.config.learners,
  };
}
