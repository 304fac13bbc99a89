/**
 * The node's state machine: the applied data of every partition (Raft group) the node
 * replicates, in ONE RocksDB database (rocksdb-native), each partition a contiguous key range
 * (layout in state-machine-keys.ts, reasons in docs/storage-rocksdb.md).
 *
 * Durability. `apply` writes an entry batch's commands, dedup records and the partition's new
 * applied index in ONE RocksDB batch, unsynced: the write reaches RocksDB's WAL in the page
 * cache, so it survives the process dying but maybe not the machine. After a crash the node
 * replays its Raft log from the applied index that survived, so the Raft log may be compacted
 * only up to an applied index returned by `flush()`, which writes the memtable to a synced SST.
 *
 * Threads. Every database call runs on the libuv thread pool (default 4 threads, shared with
 * fs/promises, so with the Raft log's fdatasync): the event loop only builds batches. Calls for
 * one partition's writes (`apply`, `installSnapshot`, `deletePartition`) run one at a time in
 * call order; reads run at once, and see each apply batch whole or not at all.
 */

import type RocksDB from "rocksdb-native";
import type { PartitionId } from "../ids.js";
import type { SnapshotMeta } from "../raft/types.js";
import {
  type ApplyEntry,
  type ApplyOutcome,
  type ApplyPlan,
  checkContiguous,
  decodeEntries,
  planApply,
  requestIdsOf,
  type WriteOp,
} from "./state-machine-apply.js";
import { DEDUP_WINDOW_ENTRIES, expireGenerations, readDedupRecords } from "./state-machine-dedup.js";
import {
  InvalidCallError,
  StateMachineClosedError,
  StateMachineFailedError,
} from "./state-machine-errors.js";
import { installPartition } from "./state-machine-install.js";
import {
  appliedIndexKey,
  dataKey,
  increment,
  PARTITION_PREFIX_BYTES,
  partitionRange,
  raftMetaOfAppliedIndexValue,
  readU64,
  Tag,
  tagRange,
} from "./state-machine-keys.js";
import { openDatabase } from "./state-machine-open.js";
import { RecentRequestIds } from "./state-machine-recent-ids.js";
import {
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  MIN_SNAPSHOT_CHUNK_BYTES,
  PartitionSnapshot,
} from "./state-machine-snapshot.js";

export type { ApplyEntry, ApplyOutcome } from "./state-machine-apply.js";
export type { PartitionSnapshot } from "./state-machine-snapshot.js";

export interface StateMachineOptions {
  /**
   * Raft entries within which a request id counts as applied (state-machine-dedup.ts). Part of
   * the replicated state machine: every node of a cluster must use the same value.
   */
  readonly dedupWindow?: number;
  /** RocksDB background flush and compaction threads; default 2 (one per core here). */
  readonly maxBackgroundJobs?: number;
}

/** Keys from `start` (inclusive) to `end` (exclusive), or the keys starting with `prefix`. */
export type ScanRange =
  | { readonly start?: Uint8Array; readonly end?: Uint8Array }
  | { readonly prefix: Uint8Array };

export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface ScanResult {
  /** In key order, at most `limit`. */
  readonly entries: KeyValue[];
  /** True if the range holds more keys after the last one returned. */
  readonly more: boolean;
}

interface PartitionState {
  applied: number;
  recent: RecentRequestIds;
}

/** One partition's committed entries to apply. */
export interface PartitionEntries {
  readonly partition: PartitionId;
  readonly entries: readonly ApplyEntry[];
}

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** A plain Uint8Array view of a Buffer from rocksdb-native (no copy). */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export class StateMachine {
  private readonly states = new Map<PartitionId, PartitionState>();
  /** Per partition: the settled tail of its chain of writes. */
  private readonly queues = new Map<PartitionId, Promise<void>>();
  private readonly installing = new Set<PartitionId>();
  private readonly snapshots = new Set<PartitionSnapshot>();
  private failure: StateMachineFailedError | undefined;
  /** The read batch that this turn's gets join (see get). */
  private pendingReads: RocksDB.ReadBatch | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: RocksDB,
    /** The database directory. */
    readonly dir: string,
    private readonly dedupWindow: number,
    applied: ReadonlyMap<PartitionId, number>,
    /** Partitions whose snapshot install a crash interrupted: wiped at open, they need a snapshot. */
    readonly interruptedInstalls: readonly PartitionId[],
  ) {
    for (const [partition, index] of applied) {
      this.states.set(partition, { applied: index, recent: new RecentRequestIds(dedupWindow, index) });
    }
  }

  /**
   * Opens the database in `dir`, creating it if `dir` is missing or empty. Refuses (with an error
   * naming `dir`) a file, a directory of other files, a database that is not tinyo's, and one
   * RocksDB cannot open: it never starts afresh over existing data.
   */
  static async open(dir: string, options: StateMachineOptions = {}): Promise<StateMachine> {
    const dedupWindow = options.dedupWindow ?? DEDUP_WINDOW_ENTRIES;
    if (!Number.isSafeInteger(dedupWindow) || dedupWindow < 1) {
      throw new InvalidCallError(`dedupWindow must be a positive integer, got ${dedupWindow}`);
    }
    const opened = await openDatabase(dir, { maxBackgroundJobs: options.maxBackgroundJobs ?? 2 });
    return new StateMachine(opened.db, dir, dedupWindow, opened.applied, opened.interruptedInstalls);
  }

  /** The partition's applied index as stored (durable or not); 0 if it has none. */
  appliedIndex(partition: PartitionId): number {
    return this.states.get(partition)?.applied ?? 0;
  }

  /** The partitions with an applied index above 0, in increasing order. */
  partitions(): PartitionId[] {
    return [...this.states]
      .filter(([, state]) => state.applied > 0)
      .map(([partition]) => partition)
      .sort((a, b) => a - b);
  }

  /**
   * Applies committed entries, which must continue the applied index without gaps; writes them
   * and the new applied index in one unsynced batch. Returns an outcome per entry.
   */
  async apply(partition: PartitionId, entries: readonly ApplyEntry[]): Promise<ApplyOutcome[]> {
    const [outcomes] = await this.applyBatch([{ partition, entries }]);
    return outcomes ?? [];
  }

  /**
   * Applies several partitions' committed entries (at most one batch per partition) with one
   * dedup read and one unsynced write for all: a ready cycle's applies cost two trips through
   * the thread pool, not two per partition. Returns the outcomes per batch, in order.
   */
  async applyBatch(batches: readonly PartitionEntries[]): Promise<ApplyOutcome[][]> {
    const todo = batches.filter((b) => b.entries.length > 0);
    const partitions = todo.map((b) => b.partition);
    if (new Set(partitions).size !== partitions.length) {
      throw new InvalidCallError("applyBatch takes at most one batch per partition");
    }
    if (todo.length === 0) {
      this.checkOpen();
      if (this.failure !== undefined) throw this.failure;
      return batches.map(() => []);
    }
    const planned = await this.serial(partitions, async () => {
      const window = this.dedupWindow;
      const lookups = todo.map(({ partition, entries }) => {
        const state = this.state(partition);
        checkContiguous(partition, state.applied, entries);
        const decoded = decodeEntries(entries);
        const first = state.applied + 1;
        return {
          partition,
          decoded,
          first,
          last: first + entries.length - 1,
          requestIds: state.recent.toRead(first, requestIdsOf(decoded)),
        };
      });
      const stored = await readDedupRecords(this.db, lookups, window);
      const plans = lookups.map(({ partition, decoded, first, last }, i) => {
        const expire = expireGenerations(partition, first - 1, last, window);
        return planApply(partition, decoded, stored[i] as Map<string, number>, expire, window);
      });
      await this.write(plans.flatMap((plan) => plan.ops));
      lookups.forEach(({ partition, last }, i) => {
        const state = this.state(partition);
        state.applied = last;
        for (const outcome of (plans[i] as ApplyPlan).outcomes) {
          if (outcome.kind === "applied" && outcome.command.requestId !== undefined) {
            state.recent.record(outcome.index, outcome.command.requestId);
          }
        }
      });
      return new Map(todo.map((b, i) => [b, (plans[i] as { outcomes: ApplyOutcome[] }).outcomes]));
    });
    return batches.map((b) => planned.get(b) ?? []);
  }

  /** The value of `key` in the partition, or undefined. */
  /**
   * The key's value, or undefined. Gets issued in the same turn of the event loop (the reads a
   * ReadIndex round or an apply releases together) share one RocksDB read batch: one trip
   * through the thread pool for all of them instead of one each.
   */
  async get(partition: PartitionId, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen();
    let batch = this.pendingReads;
    if (batch === undefined) {
      batch = this.db.read({ autoDestroy: true });
      this.pendingReads = batch;
      queueMicrotask(() => {
        this.pendingReads = undefined;
        (batch as RocksDB.ReadBatch).tryFlush();
      });
    }
    const value = await batch.get(dataKey(partition, key));
    return value === null ? undefined : plain(value);
  }

  /** Up to `limit` keys of the range in key order (user keys, without the partition prefix). */
  async scan(partition: PartitionId, range: ScanRange, limit: number): Promise<ScanResult> {
    this.checkOpen();
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidCallError(`a scan limit must be a positive integer, got ${limit}`);
    }
    const all = tagRange(partition, Tag.data);
    let gte = all.gte;
    let lt = all.lt;
    if ("prefix" in range) {
      const end = increment(range.prefix);
      gte = dataKey(partition, range.prefix);
      if (end.length > 0) lt = dataKey(partition, end);
    } else {
      if (range.start !== undefined) gte = dataKey(partition, range.start);
      if (range.end !== undefined) lt = dataKey(partition, range.end);
    }
    const entries: KeyValue[] = [];
    if (Buffer.compare(gte, lt) >= 0) return { entries, more: false };
    const capacity = Math.min(limit + 1, 1024);
    for await (const { key, value } of this.db.iterator({ gte, lt, limit: limit + 1, capacity })) {
      if (entries.length === limit) return { entries, more: true };
      entries.push({ key: plain(key.subarray(PARTITION_PREFIX_BYTES + 1)), value: plain(value) });
    }
    return { entries, more: false };
  }

  /**
   * Makes every write done so far durable (RocksDB flushes its memtable to a synced SST file and
   * waits for it; tens of ms per 10 MB of writes since the last flush). Returns each partition's
   * applied index as of the call: durable now, so the Raft log may be compacted up to it.
   */
  async flush(): Promise<Map<PartitionId, number>> {
    this.checkOpen();
    const durable = new Map<PartitionId, number>();
    for (const [partition, state] of this.states) durable.set(partition, state.applied);
    await this.db.flush();
    return durable;
  }

  /**
   * A snapshot of the partition now: its applied index and its records (data and dedup
   * records), read from a RocksDB snapshot. Read its chunks to the end, or close it.
   */
  async snapshot(
    partition: PartitionId,
    options: { readonly chunkBytes?: number } = {},
  ): Promise<PartitionSnapshot> {
    this.checkOpen();
    const chunkBytes = options.chunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < MIN_SNAPSHOT_CHUNK_BYTES) {
      throw new InvalidCallError(
        `chunkBytes must be at least ${MIN_SNAPSHOT_CHUNK_BYTES} (the largest record), got ${chunkBytes}`,
      );
    }
    if (this.installing.has(partition)) {
      throw new InvalidCallError(
        `partition ${partition} is installing a snapshot: it has no state to send yet`,
      );
    }
    const session = this.db.snapshot(); // taken now, on this thread: no apply lands between check and snapshot
    let applied: number;
    try {
      const stored = await session.get(appliedIndexKey(partition));
      applied = stored === null ? 0 : readU64(stored, 0);
    } catch (error) {
      await session.close();
      throw error;
    }
    if (this.closing !== undefined) {
      await session.close();
      this.checkOpen();
    }
    const snapshot = new PartitionSnapshot(partition, applied, session, chunkBytes, (s) =>
      this.snapshots.delete(s),
    );
    this.snapshots.add(snapshot);
    return snapshot;
  }

  /**
   * Replaces the partition with a snapshot's chunks (as produced by `snapshot().chunks()`) and
   * sets its applied index; durable when it returns (it flushes). Atomic for snapshots up to
   * 32 MiB; see state-machine-install.ts for larger ones. `raftMeta` (its index must be
   * `appliedIndex`) is kept beside the applied index until the next apply: read it back with
   * `installedSnapshotMeta` after a crash that came before the Raft log recorded the install.
   */
  async installSnapshot(
    partition: PartitionId,
    appliedIndex: number,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    raftMeta?: SnapshotMeta,
  ): Promise<void> {
    if (!isIndex(appliedIndex)) {
      throw new InvalidCallError(
        `a snapshot's applied index must be a non-negative integer, got ${appliedIndex}`,
      );
    }
    if (raftMeta !== undefined && raftMeta.index !== appliedIndex) {
      throw new InvalidCallError(
        `the Raft meta of a snapshot at applied index ${appliedIndex} is at index ${raftMeta.index}`,
      );
    }
    return this.serial(partition, async () => {
      const state = this.state(partition);
      this.installing.add(partition);
      try {
        await installPartition(
          partition,
          appliedIndex,
          chunks,
          {
            write: (ops) => this.write(ops),
            onRangeDeleted: () => {
              state.applied = 0;
            },
          },
          raftMeta,
        );
        state.applied = appliedIndex;
        // The snapshot brought its own records: memory knows only what is applied from here.
        state.recent = new RecentRequestIds(this.dedupWindow, appliedIndex);
      } finally {
        this.installing.delete(partition);
      }
      await this.db.flush();
    });
  }

  /**
   * The Raft meta that the partition's last snapshot install stored beside its applied index,
   * while no apply has followed it; undefined otherwise.
   */
  async installedSnapshotMeta(partition: PartitionId): Promise<SnapshotMeta | undefined> {
    this.checkOpen();
    const value = await this.db.get(appliedIndexKey(partition));
    return value === null ? undefined : raftMetaOfAppliedIndexValue(value);
  }

  /** Deletes all of the partition's state (a replica moved away): applied index 0, no keys. */
  async deletePartition(partition: PartitionId): Promise<void> {
    return this.serial(partition, async () => {
      const range = partitionRange(partition);
      await this.write([{ op: "deleteRange", start: range.gte, end: range.lt }]);
      this.states.delete(partition);
    });
  }

  /**
   * Waits for the writes under way, ends open snapshots, flushes (so a restart has nothing to
   * replay) and closes the database. Later calls fail with StateMachineClosedError.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.queues.values());
      await Promise.all([...this.snapshots].map((s) => s.close()));
      try {
        if (this.failure === undefined) await this.db.flush();
      } finally {
        await this.db.close();
      }
    })();
    return this.closing;
  }

  private state(partition: PartitionId): PartitionState {
    let state = this.states.get(partition);
    if (state === undefined) {
      state = { applied: 0, recent: new RecentRequestIds(this.dedupWindow, 0) };
      this.states.set(partition, state);
    }
    return state;
  }

  private checkOpen(): void {
    if (this.closing !== undefined) {
      throw new StateMachineClosedError(`the state machine in ${this.dir} is closed`);
    }
  }

  /** Runs `task` after the earlier writes of the partition(s), whatever their outcome. */
  private serial<T>(partitions: PartitionId | readonly PartitionId[], task: () => Promise<T>): Promise<T> {
    this.checkOpen();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const list = typeof partitions === "number" ? [partitions] : partitions;
    const before = list.map((p) => this.queues.get(p)).filter((q) => q !== undefined);
    const run = Promise.all(before).then(() => {
      if (this.failure !== undefined) throw this.failure;
      return task();
    });
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    for (const partition of list) {
      this.queues.set(partition, settled);
      void settled.then(() => {
        if (this.queues.get(partition) === settled) this.queues.delete(partition);
      });
    }
    return run;
  }

  /** Writes one batch; a failure fails the state machine (what is stored is then uncertain). */
  private async write(ops: readonly WriteOp[]): Promise<void> {
    const batch = this.db.write({ capacity: ops.length, autoDestroy: true });
    for (const op of ops) {
      if (op.op === "put") batch.tryPut(op.key, op.value);
      else if (op.op === "delete") batch.tryDelete(op.key);
      else batch.tryDeleteRange(op.start, op.end);
    }
    try {
      await batch.flush();
    } catch (error) {
      this.failure ??= new StateMachineFailedError(
        `a RocksDB write in ${this.dir} failed (${error instanceof Error ? error.message : String(error)}): ` +
          "the state machine refuses further writes; restart the node to recover from its Raft log",
        { cause: error },
      );
      throw this.failure;
    }
  }
}
