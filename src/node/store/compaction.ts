/**
 * Log compaction. The Raft log of a group grows with every write, in the core's memory and on
 * disk, until it is cut behind what the state machine holds durably. Every `checkMs`, the groups
 * that have applied at least `everyEntries + keep` entries past their compaction point are due;
 * if any is, ONE state-machine flush makes every partition's applied index durable, and each
 * due group is compacted, core then Raft log, up to that durable index minus `keep`:
 * - the core drops the entries (RaftNode.compact); it returns false when it holds a newer
 *   snapshot (one just received), and then the log is left alone too;
 * - the Raft log writes a compaction record with the term and configuration at the cut (so a
 *   restart needs nothing else) and deletes the segments no group needs any more.
 * `keep` (everyEntries / 2) leaves the latest entries in the log, so that a follower a little
 * behind catches up from the log rather than by snapshot (etcd keeps 5,000 for the same reason).
 * A group installing a snapshot is skipped. A storage failure here is fatal, as in the cycle.
 */

import type { PartitionId } from "../ids.js";
import type { RaftNode } from "../raft/raft.js";
import type { SnapshotMeta } from "../raft/types.js";

const EMPTY = new Uint8Array(0);

export interface CompactionPolicy {
  /** Compact a group once it has applied this many entries past its last cut (plus `keep`). */
  readonly everyEntries: number;
  /** How often to look for groups that are due, in milliseconds. */
  readonly checkMs: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = { everyEntries: 10_000, checkMs: 1000 };

/** A group as compaction sees it. */
export interface CompactableGroup {
  readonly partition: PartitionId;
  readonly raft: RaftNode;
  readonly installing: boolean;
}

export interface CompactorHost {
  groups(): Iterable<CompactableGroup>;
  /** The state machine's flush: every partition's applied index, durable now. */
  flush(): Promise<ReadonlyMap<PartitionId, number>>;
  /** The Raft log's compaction of one group. */
  compactLog(partition: PartitionId, meta: SnapshotMeta): Promise<void>;
  isClosed(): boolean;
  onCompacted(partition: PartitionId, meta: SnapshotMeta): void;
  onFatal(error: Error): void;
}

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly keep: number;

  constructor(
    private readonly policy: CompactionPolicy,
    private readonly host: CompactorHost,
  ) {
    if (!Number.isSafeInteger(policy.everyEntries) || policy.everyEntries < 1) {
      throw new RangeError(`compaction needs a positive entry count, got ${policy.everyEntries}`);
    }
    this.keep = Math.floor(policy.everyEntries / 2);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.policy.checkMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a compaction under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Compacts the groups that are due (one run at a time); resolves when done. */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private isDue(g: CompactableGroup): boolean {
    return (
      !g.installing && g.raft.appliedIndex - g.raft.snapshotMeta.index >= this.policy.everyEntries + this.keep
    );
  }

  private async run(): Promise<void> {
    if (this.host.isClosed()) return;
    const due = [...this.host.groups()].filter((g) => this.isDue(g));
    if (due.length === 0) return;
    try {
      const durable = await this.host.flush();
      const writes: Promise<void>[] = [];
      for (const g of due) {
        if (this.host.isClosed() || g.installing) continue;
        // The core's applied index may trail the state machine's by a ready being applied.
        const index = Math.min(durable.get(g.partition) ?? 0, g.raft.appliedIndex) - this.keep;
        if (index <= g.raft.snapshotMeta.index || !g.raft.compact(index, EMPTY)) continue;
        // Called at once (no await in between): the log records the cut before any later write
        // of this group, such as a snapshot that would supersede it.
        const meta = g.raft.snapshotMeta;
        writes.push(
          this.host.compactLog(g.partition, meta).then(() => this.host.onCompacted(g.partition, meta)),
        );
      }
      await Promise.all(writes);
    } catch (error) {
      if (!this.host.isClosed()) this.host.onFatal(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
