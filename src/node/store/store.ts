import type { NodeId, PartitionId } from "../ids.js";
import {
  type Config,
  type Message,
  type Ready,
  type SnapshotMeta,
  sendableBeforePersist,
} from "../raft/types.js";
import type { Placement } from "../ring/placement.js";
import type { GroupWrite, RaftEngine } from "../storage/raft-engine.js";
import { type CompactionPolicy, Compactor, DEFAULT_COMPACTION } from "./compaction.js";
import { NotLeaderError, NotReplicaError, StoreClosedError } from "./errors.js";
import type { AnswerAt, Applied, Group } from "./group.js";
import { bootstrap, eraseReplica, type GroupParams, loadGroup } from "./group-lifecycle.js";
import { balanceTarget, handOffTarget } from "./leadership.js";
import { type MoveStats, ReplicaMover } from "./replica-mover.js";
import { isTargetReplica, metadataPartition, targetConfig, targetGroupsOf } from "./replica-targets.js";
import type { ReplicatedStateMachine } from "./replicated-state-machine.js";
import { type InboundSnapshot, receiveSnapshot, type SnapshotReceipt } from "./snapshot-receiver.js";
import { type SendSnapshot, SnapshotSender } from "./snapshot-sender.js";
import { type GroupStatus, groupStatusOf, type StoreStats } from "./status.js";
import { TickClock } from "./tick-clock.js";

const EMPTY = new Uint8Array(0);

export type { CompactionPolicy } from "./compaction.js";
export type { MoveStats } from "./replica-mover.js";
export type { ReplicatedStateMachine } from "./replicated-state-machine.js";
export type { InboundSnapshot, SnapshotReceipt } from "./snapshot-receiver.js";
export type { SendSnapshot } from "./snapshot-sender.js";
export type { GroupStatus, StoreStats } from "./status.js";

export interface GroupMessage {
  readonly group: PartitionId;
  readonly message: Message;
}

export interface StoreOptions {
  readonly self: NodeId;
  /**
   * The placement of the current members: the target of every group's configuration (the
   * replica mover moves toward it; setPlacement changes it). On a brand-new log, unless `join`,
   * it is also the founding configuration of the groups this node starts with.
   */
  readonly placement: Placement;
  /** This node joins a running cluster: it starts no group itself, the leaders add it. */
  readonly join?: boolean;
  /** Learners catching up at once on behalf of this node (default 4). */
  readonly maxMovesInFlight?: number;
  /** Ticks between replica-mover rounds (default 10). */
  readonly moveEveryTicks?: number;
  /** A removal this node proposed is applied: tell `node` it may erase its replica. */
  readonly onReplicaRemoved?: (partition: PartitionId, node: NodeId) => void;
  readonly engine: RaftEngine;
  readonly stateMachine: ReplicatedStateMachine;
  /** Hands messages to the transport; must not block. Snapshot messages never go this way. */
  readonly send: (to: NodeId, messages: GroupMessage[]) => void;
  /** Streams a snapshot to a follower (the transport's sendSnapshot). */
  readonly sendSnapshot: SendSnapshot;
  /** When to compact the Raft log; default every 10,000 entries, checked every second. */
  readonly compaction?: Partial<CompactionPolicy>;
  /** Structured log of compactions and snapshot transfers. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /**
   * The leader each partition should have (balancedLeaders of the placement): a node leading a
   * partition whose balanced leader is another caught-up replica hands it over, one partition
   * per balancing round. Omitted: no balancing.
   */
  readonly balancedLeaders?: readonly NodeId[];
  /** Ticks between balancing rounds (default 40), and how long a leader keeps a partition first (100). */
  readonly balanceEveryTicks?: number;
  readonly balanceHoldTicks?: number;
  /**
   * Milliseconds per Raft tick; heartbeats every 2 ticks, elections after 10-20 ticks by default
   * (etcd's ratio: a heartbeat per tick cost an idle node a fifth of a core with 32 partitions).
   */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Seeds the groups' election timeouts; a node should pass something different per start. */
  readonly seed: number;
  /** Called when the store fails (storage error): the node must stop. */
  readonly onFatal?: (error: Error) => void;
}

/**
 * The multi-Raft host: every Raft group this node is a member of, driven by one tick timer and
 * one ready cycle. A cycle takes the ready of every group that has one, sends the leaders'
 * appends, makes all their entries and hard states durable with ONE engine write (one
 * fdatasync), then sends every group's other messages in one batch per peer, advances the
 * cores, and applies the committed entries of all groups in one state-machine batch while the
 * next cycle writes; reads are answered once applied, proposals once committed or applied (as
 * each asks: Group.propose). Inputs arriving meanwhile
 * are stepped into the cores at once and handled by the next cycle, so batches grow with the
 * load (group commit).
 *
 * Beside the cycle: the compactor cuts each group's log behind its durable applied index
 * (compaction.ts); a snapshot message in a ready is streamed by the snapshot sender rather than
 * sent (snapshot-sender.ts); a snapshot streamed here is installed by freezing its group
 * (snapshot-receiver.ts), and the ready that then carries it is persisted but not applied.
 */
export class Store {
  private readonly groups = new Map<PartitionId, Group>();
  /** Groups being created for a replica the leader added here: messages wait (Raft resends). */
  private readonly creating = new Set<PartitionId>();
  private placement: Placement;
  private balanced: readonly NodeId[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set at start: the ticks the groups are owed, from the monotonic clock. */
  private clock: TickClock | undefined;
  private balanceTimer: NodeJS.Timeout | undefined;
  private moveTimer: NodeJS.Timeout | undefined;
  private handingOff = false;
  private cycleRunning = false;
  private cycleWanted = false;
  private idle: Promise<void> = Promise.resolve();
  /** The cycle running now (settled when none is). */
  private currentCycle: Promise<void> = Promise.resolve();
  /** The apply of the last cycle (settled when done; never rejects: a failure fails the store). */
  private applying: Promise<void> = Promise.resolve();
  private closedReason: string | undefined;
  private readonly counts = {
    compactions: 0,
    snapshotsSent: 0,
    snapshotsSendFailed: 0,
    snapshotsInstalled: 0,
    snapshotsSkipped: 0,
  };
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private readonly snapshots: SnapshotSender;
  private readonly compactor: Compactor;
  private readonly mover: ReplicaMover;

  private constructor(private readonly options: StoreOptions) {
    this.log = options.log ?? (() => {});
    this.placement = options.placement;
    this.balanced = options.balancedLeaders;
    this.mover = new ReplicaMover(
      {
        self: options.self,
        groups: () => this.groups.values(),
        target: (p) => targetConfig(this.placement, p),
        isMetadata: (p) => p === metadataPartition(this.placement.partitions),
        schedule: () => this.schedule(),
        onRemoved: (p, node) => options.onReplicaRemoved?.(p, node),
        log: this.log,
      },
      options.maxMovesInFlight ?? 4,
    );
    const sm = options.stateMachine;
    this.snapshots = new SnapshotSender({
      snapshot: (p) => sm.snapshot(p),
      send: options.sendSnapshot,
      metaAt: (p, index) => this.groups.get(p)?.raft.snapshotMetaAt(index),
      log: this.log,
      onDone: (p, ok) => {
        if (!ok) this.counts.snapshotsSendFailed++;
        const group = this.groups.get(p);
        if (ok && group) {
          this.counts.snapshotsSent++;
          group.counts.snapshotsSent++;
        }
      },
    });
    this.compactor = new Compactor(
      { ...DEFAULT_COMPACTION, ...options.compaction },
      {
        groups: () => this.groups.values(),
        flush: () => sm.flush(),
        compactLog: (p, meta) => options.engine.compact(p, meta),
        isClosed: () => this.closedReason !== undefined,
        onCompacted: (p, meta) => {
          this.counts.compactions++;
          const group = this.groups.get(p);
          if (group) group.counts.compactions++;
          this.log("store.compacted", { partition: p, index: meta.index, term: meta.term });
        },
        onFatal: (error) => this.fail(error),
      },
    );
  }

  /**
   * Loads every group the Raft log holds. A founding node's brand-new log first records the
   * founding configuration of its groups (group-lifecycle.ts); a joining node starts with none.
   */
  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(options);
    const { placement, self, engine } = options;
    if (!options.join) {
      const founding = new Map<PartitionId, Config>();
      for (const p of targetGroupsOf(placement, self)) founding.set(p, targetConfig(placement, p) as Config);
      await bootstrap(engine, founding);
    }
    for (const p of engine.groups()) {
      const partition = p as PartitionId;
      store.groups.set(partition, await loadGroup(store.groupParams(), partition));
    }
    return store;
  }

  private groupParams(): GroupParams {
    const o = this.options;
    return {
      self: o.self,
      engine: o.engine,
      stateMachine: o.stateMachine,
      electionTicks: o.electionTicks ?? 10,
      heartbeatTicks: o.heartbeatTicks ?? 2,
      seed: o.seed,
    };
  }

  start(): void {
    if (this.timer) return;
    const tickMs = this.options.tickMs ?? 50;
    this.clock = new TickClock(tickMs);
    // After the I/O of this loop turn: messages that queued during a stall go in first (receive).
    this.timer = setInterval(() => setImmediate(() => this.tick()), tickMs);
    if (this.options.balancedLeaders) {
      this.balanceTimer = setInterval(
        () => this.balanceLeaders(),
        tickMs * (this.options.balanceEveryTicks ?? 40),
      );
    }
    this.moveTimer = setInterval(
      () => {
        if (!this.closedReason && !this.handingOff) this.mover.round();
      },
      tickMs * (this.options.moveEveryTicks ?? 10),
    );
    this.compactor.start();
    this.schedule();
  }

  partitions(): PartitionId[] {
    return [...this.groups.keys()];
  }

  /**
   * Messages from a peer (the transport's onMessages). Dropped: messages for groups we do not
   * host or that are installing a snapshot (Raft resends), and snapshot messages, whose state
   * comes only with receiveSnapshot.
   */
  receive(messages: readonly GroupMessage[]): void {
    if (this.closedReason) return;
    // A follower's hold on its vote counts from when it hears its leader (docs/raft.md, "Leader
    // leases"): its tick count must not lag real time then, or the ticks delivered after would
    // cut the hold short. So the ticks owed go in before a leader's messages; answers go in
    // before the ticks, so that a leader back from a stall sees the acknowledgements that
    // queued meanwhile before its timers run (else it would fall back to probing pipelines
    // that were fine, or fail check-quorum).
    for (const m of messages) if (!stampsLeaderContact(m.message)) this.step(m);
    this.tick();
    for (const m of messages) if (stampsLeaderContact(m.message)) this.step(m);
    this.schedule();
  }

  private step({ group, message }: GroupMessage): void {
    const g = this.groups.get(group);
    if (g && !g.installing && message.type !== "snapshot") g.raft.step(message);
    else if (!g) void this.adopt(group);
  }

  /**
   * A snapshot streamed by a leader (the transport's onSnapshot): installed in the state machine
   * and stepped into the group, or acknowledged without installing when the group's log already
   * reaches it. See snapshot-receiver.ts.
   */
  async receiveSnapshot(inbound: InboundSnapshot): Promise<SnapshotReceipt> {
    if (this.closedReason) throw new StoreClosedError(this.closedReason);
    const group = this.groups.get(inbound.group) ?? (await this.adopt(inbound.group));
    if (!group) throw new NotReplicaError(inbound.group);
    const receipt = await receiveSnapshot(group, inbound, {
      stateMachine: this.options.stateMachine,
      cycleDone: async () => {
        await this.currentCycle;
        await this.applying;
      },
      isClosed: () => this.closedReason !== undefined,
      schedule: () => this.schedule(),
      catchUpTicks: () => this.tick(),
      fail: (error) => this.fail(error),
      log: this.log,
    });
    if (receipt.installed) {
      this.counts.snapshotsInstalled++;
      group.counts.snapshotsInstalled++;
    } else this.counts.snapshotsSkipped++;
    return receipt;
  }

  stats(): StoreStats {
    return { ...this.counts };
  }

  moveStats(): MoveStats {
    return this.mover.stats();
  }

  /**
   * The members changed: `placement` is the new target of every group (the replica mover moves
   * replicas toward it) and `balancedLeaders` the new leader balance.
   */
  setPlacement(placement: Placement, balancedLeaders?: readonly NodeId[]): void {
    this.placement = placement;
    if (balancedLeaders) this.balanced = balancedLeaders;
  }

  /**
   * A leader sent a message for a group not hosted here: create the replica (empty; the leader
   * fills it by log or snapshot) if the current placement puts one here, or if it is the
   * metadata group: a node removed and added back learns that it is a member again only from
   * that group, whatever its placement says meanwhile. Other messages for a replica the
   * placement does not want here (a stale one, or one for a member removed meanwhile) are dropped.
   */
  private async adopt(partition: PartitionId): Promise<Group | undefined> {
    if (this.closedReason || this.creating.has(partition)) return undefined;
    const metadata = partition === metadataPartition(this.placement.partitions);
    if (!metadata && !isTargetReplica(this.placement, partition, this.options.self)) return undefined;
    this.creating.add(partition);
    try {
      const group = await loadGroup(this.groupParams(), partition);
      if (this.closedReason || this.groups.has(partition)) return this.groups.get(partition);
      this.groups.set(partition, group);
      this.log("store.replica_created", { partition });
      this.schedule();
      return group;
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    } finally {
      this.creating.delete(partition);
    }
  }

  /**
   * The leader says this node's replica of `partition` was removed from the group: erase it
   * (Raft log, hard state and keys) unless the current placement still wants it here. Returns
   * whether it was erased.
   */
  async eraseReplica(partition: PartitionId): Promise<boolean> {
    const group = this.groups.get(partition);
    if (this.closedReason || !group || group.installing) return false;
    if (isTargetReplica(this.placement, partition, this.options.self)) return false;
    const { raft } = group;
    if (raft.role === "leader") return false;
    // Frozen first (no tick, step or cycle touches it), then out of the cycle in progress and
    // of the apply running behind it.
    group.installing = true;
    await this.currentCycle;
    await this.applying;
    this.groups.delete(partition);
    group.failAll(new NotReplicaError(partition));
    try {
      await eraseReplica(this.options.engine, this.options.stateMachine, partition);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    this.log("store.replica_erased", { partition, term: raft.term });
    return true;
  }

  /**
   * Replicates `data` in `partition` (this node must lead); resolves once the entry is committed
   * or applied on this node, as `answerAt` asks.
   */
  propose(partition: PartitionId, data: Uint8Array, answerAt: AnswerAt = "apply"): Promise<Applied> {
    const group = this.group(partition);
    const applied = group.propose(data, answerAt);
    this.schedule();
    return applied;
  }

  /** Resolves when this replica's state machine may be read linearizably (ReadIndex). */
  readBarrier(partition: PartitionId): Promise<void> {
    const barrier = this.group(partition).readBarrier();
    this.schedule();
    return barrier;
  }

  /**
   * LEASE consistency: as readBarrier, but a leader that holds its lease answers at once (once
   * its commit index is applied) without a heartbeat round. The ticks real time owes are
   * delivered first, so that a leader back from a pause sees its lease expired.
   */
  leaseReadBarrier(partition: PartitionId): Promise<void> {
    const group = this.group(partition);
    this.tick();
    return group.leaseReadBarrier() ?? this.readBarrier(partition);
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

  /**
   * Before a planned stop: hands every partition this node leads to its most caught-up voter and
   * waits (up to `timeoutMs`) until it leads none, so that the stop costs no election timeout.
   * Requests keep being served meanwhile (proposals to a partition in transfer are refused with
   * its leader hint, and the client retries there). Returns how many partitions moved and how
   * many this node still leads.
   */
  async handOffLeaderships(timeoutMs: number): Promise<{ moved: number; kept: number }> {
    const leading = () => [...this.groups.values()].filter((g) => !g.installing && g.raft.role === "leader");
    const before = leading().length;
    const targets = new Map<PartitionId, NodeId>();
    this.handingOff = true;
    const deadline = Date.now() + timeoutMs;
    const tickMs = this.options.tickMs ?? 50;
    for (let groups = leading(); groups.length > 0 && !this.closedReason; groups = leading()) {
      if (Date.now() >= deadline) break;
      for (const group of groups) {
        const { partition, raft } = group;
        const target =
          targets.get(partition) ??
          handOffTarget(raft, this.options.self, this.balancedLeader(partition) ?? this.options.self);
        if (target === undefined) continue;
        targets.set(partition, target);
        // Asking again is harmless, and restarts a transfer the core abandoned after an election timeout.
        raft.transferLeader(target);
      }
      this.schedule();
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    const kept = leading().length;
    return { moved: before - kept, kept };
  }

  /** One balancing round: hands at most one partition to its balanced leader (leadership.ts). */
  private balanceLeaders(): void {
    if (this.closedReason || this.handingOff) return;
    const now = Date.now();
    const holdMs = (this.options.tickMs ?? 50) * (this.options.balanceHoldTicks ?? 100);
    for (const group of this.groups.values()) {
      if (group.installing) continue;
      const { partition, raft } = group;
      const target = balanceTarget(
        raft,
        this.options.self,
        this.balancedLeader(partition),
        now - group.leaderSince,
        holdMs,
      );
      if (target === undefined || !raft.transferLeader(target).ok) continue;
      this.log("store.leader_balanced", { partition, to: target, term: raft.term });
      this.schedule();
      return;
    }
  }

  private balancedLeader(partition: PartitionId): NodeId | undefined {
    return this.balanced?.[partition] ?? targetConfig(this.placement, partition)?.voters[0];
  }

  /**
   * Stops ticking, ends snapshot transfers, waits for the cycle and the compaction in flight,
   * and fails whatever still waits.
   */
  async close(reason = "the node is shutting down"): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.balanceTimer) clearInterval(this.balanceTimer);
    if (this.moveTimer) clearInterval(this.moveTimer);
    this.timer = undefined;
    this.closedReason ??= reason;
    this.snapshots.close();
    await this.compactor.stop();
    await this.idle;
    await this.applying;
    const error = new StoreClosedError(this.closedReason);
    for (const group of this.groups.values()) group.failAll(error);
  }

  private group(partition: PartitionId): Group {
    if (this.closedReason) throw new StoreClosedError(this.closedReason);
    const group = this.groups.get(partition);
    if (!group) throw new NotReplicaError(partition);
    if (group.installing) throw new NotLeaderError(partition, 0, "it is installing a snapshot");
    return group;
  }

  /**
   * Delivers the ticks the clock owes, before any message is stepped and any lease decided. A
   * group installing a snapshot misses them for good: a clock that drops ticks is safe (it only
   * holds a vote longer), one that delivers them late is not (see receive).
   */
  private tick(): void {
    if (this.closedReason) return;
    const owed = this.clock?.owed() ?? 0;
    if (owed === 0) return;
    for (const group of this.groups.values()) {
      if (group.installing) continue;
      for (let i = 0; i < owed; i++) group.raft.tick();
    }
    this.schedule();
  }

  /** Storage failed: continuing could acknowledge what is not durable. Stop serving. */
  private fail(error: Error): void {
    if (this.closedReason) return;
    this.closedReason = `storage failed: ${error.message}`;
    if (this.timer) clearInterval(this.timer);
    if (this.balanceTimer) clearInterval(this.balanceTimer);
    if (this.moveTimer) clearInterval(this.moveTimer);
    this.snapshots.close();
    for (const group of this.groups.values()) group.failAll(new StoreClosedError(this.closedReason));
    this.options.onFatal?.(error);
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
        this.currentCycle = this.cycle();
        await this.currentCycle;
      } while (this.cycleWanted && !this.closedReason);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.cycleRunning = false;
    }
  }

  private async cycle(): Promise<void> {
    const readies: { group: Group; ready: Ready; leaderChanged: boolean }[] = [];
    const writes: GroupWrite[] = [];
    for (const group of this.groups.values()) {
      if (group.installing || !group.raft.hasReady()) continue;
      const ready = group.raft.ready();
      // Committed entries are durable on a quorum (a leader counts itself once its own write is
      // done, in advance): what waits only for the commit is answered now, before any I/O.
      group.onCommitted(ready.committedEntries);
      readies.push({ group, ready, leaderChanged: group.noteLeader(ready.softState.leader, Date.now()) });
      const hardState = group.hardStateToWrite(ready);
      if (ready.entries.length > 0 || hardState || ready.snapshot) {
        writes.push({
          group: group.partition,
          entries: ready.entries,
          hardState,
          snapshot: ready.snapshot?.meta,
        });
      }
    }
    if (readies.length === 0) return;
    // 1. A leader's appends and heartbeats leave before its own write (sendableBeforePersist), so
    // that its fsync overlaps its followers'.
    this.sendMessages(readies, sendableBeforePersist);
    // 2. Durable next: nothing below may depend on state that a crash could lose.
    if (writes.length > 0) await this.options.engine.write(writes);
    // 3. The rest (votes, acknowledgements, ...) promise durable state; snapshots stream on their own.
    this.sendMessages(readies, (m) => !sendableBeforePersist(m));
    // 4. Advance at once and apply behind: this cycle's apply overlaps the next cycle's write.
    // Applies run one at a time in cycle order, and at most one runs beside a write (this cycle
    // waits for the previous one first). What waits on an apply, proposals and reads, is
    // answered when it completes; the group counts applied entries from there (Group.appliedIndex).
    // A snapshot in a ready was installed in the state machine before it was stepped into the
    // core (snapshot-receiver.ts): nothing to apply.
    for (const { group, ready } of readies) {
      if (ready.snapshot) await this.checkInstalled(group.partition, ready.snapshot.meta);
    }
    await this.applying;
    for (const { group, ready, leaderChanged } of readies) {
      group.raft.advance(ready);
      if (ready.snapshot) group.onSnapshotRestored(ready.snapshot.meta.index);
      if (leaderChanged) group.onLeaderChanged();
      group.onReadStates(ready.readStates);
      // advance() can make a group ready again (a lone voter, or a leader whose own persistence
      // completes the quorum, commits right there): run another cycle now rather than at the
      // next tick, which would add up to a tick to every write.
      if (group.raft.hasReady()) this.cycleWanted = true;
    }
    this.applying = this.applyCommitted(readies).catch((error: unknown) =>
      this.fail(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Applies the readies' committed entries, all groups in one state-machine batch, then answers. */
  private async applyCommitted(readies: readonly { group: Group; ready: Ready }[]): Promise<void> {
    const applies = readies
      .filter(({ ready }) => ready.committedEntries.length > 0)
      .map(({ group, ready }) => ({
        partition: group.partition,
        entries: ready.committedEntries.map((e) => ({
          index: e.index,
          data: e.type === "normal" ? e.data : EMPTY,
        })),
      }));
    if (applies.length > 0) await this.options.stateMachine.applyBatch(applies);
    for (const { group, ready } of readies) group.onApplied(ready.committedEntries);
  }

  /** Sends the readies' messages that `which` selects: one batch per peer for all groups. */
  private sendMessages(
    readies: readonly { group: Group; ready: Ready }[],
    which: (m: Message) => boolean,
  ): void {
    const outbox = new Map<NodeId, GroupMessage[]>();
    for (const { group, ready } of readies) {
      for (const message of ready.messages) {
        if (!which(message)) continue;
        if (message.type === "snapshot") {
          this.snapshots.start(group.partition, message);
          continue;
        }
        let batch = outbox.get(message.to);
        if (!batch) {
          batch = [];
          outbox.set(message.to, batch);
        }
        batch.push({ group: group.partition, message });
      }
    }
    for (const [to, batch] of outbox) this.options.send(to, batch);
  }

  private async checkInstalled(partition: PartitionId, meta: SnapshotMeta): Promise<void> {
    const applied = await this.options.stateMachine.appliedIndex(partition);
    if (applied < meta.index) {
      throw new Error(
        `partition ${partition}: the core restored a snapshot at ${meta.index} that the state machine ` +
          `(applied ${applied}) does not hold`,
      );
    }
  }
}

/** Messages only a leader sends, which a follower takes as hearing from its leader. */
function stampsLeaderContact(message: Message): boolean {
  return message.type === "append" || message.type === "heartbeat" || message.type === "snapshot";
}
