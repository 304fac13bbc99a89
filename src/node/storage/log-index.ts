/**
 * The in-memory index of the Raft log: per group, the latest hard state, the floor (entries at
 * or below it are gone) and the snapshot meta at the floor (term and configuration there) and where the live entries lie on disk. Entries
 * themselves stay on disk: the Raft core already holds them in memory, so the engine keeps one
 * small span per entries record and reads the records back only in `load`.
 *
 * The same `apply` serves live writes (after they are durable) and recovery (replaying records
 * in file order), so both build the same index. The rules per group:
 * - entries (first..last): those <= floor are dropped; if any remain, they replace the stored
 *   log from their first index on (a new leader may truncate a follower's suffix). If all are
 *   <= floor the record changes nothing (as etcd's MemoryStorage.Append).
 * - snapshot: the whole stored log is discarded and floor = snapshot.index (as the core's
 *   RaftLog.restore drops its whole log).
 * - compact(meta): if meta.index > floor, entries <= meta.index are dropped, floor = meta.index
 *   and the snapshot meta becomes `meta` (older compactions change nothing).
 * - hard state: replaced.
 * - checkpoint: sets hard state, snapshot and floor (raising the floor as compact does); it
 *   never touches entries, so replaying it mid-stream changes nothing.
 */

import type { HardState, SnapshotMeta } from "../raft/types.js";
import type { GroupCheckpoint } from "./log-codec.js";
import type { LogRecord } from "./log-format.js";

/** Where a whole record lies: its header starts at `offset` of segment `seq`. */
export interface RecordLocation {
  readonly seq: number;
  readonly offset: number;
  readonly length: number;
}

/** Live entries [first, last] of the entries record at a location, which starts at recordFirst. */
export interface Span extends RecordLocation {
  first: number;
  last: number;
  readonly recordFirst: number;
}

/** Thrown by apply when records contradict each other (a gap in the log): corruption or a bug. */
export class LogIndexError extends Error {
  override name = "LogIndexError";
}

export class GroupLog {
  hardState: HardState | undefined;
  /** The meta at the floor: of the last installed snapshot or compaction, whichever is newer. */
  snapshot: SnapshotMeta | undefined;
  floor = 0;
  /** Contiguous, ascending; their segments never decrease (a later write truncates what follows). */
  spans: Span[] = [];

  /** The last stored index, or the floor when no entry is stored. */
  lastIndex(): number {
    const last = this.spans[this.spans.length - 1];
    return last ? last.last : this.floor;
  }

  hasEntries(): boolean {
    return this.spans.length > 0;
  }

  appendEntries(first: number, count: number, at: RecordLocation): void {
    const from = Math.max(first, this.floor + 1);
    const last = first + count - 1;
    if (from > last) return;
    // With no entry stored any start is accepted: replay from a later segment may begin
    // anywhere (records of deleted segments are gone), and the writer checks live writes.
    if (this.hasEntries() && from > this.lastIndex() + 1) {
      throw new LogIndexError(
        `entries from ${from} leave a gap after the last stored index ${this.lastIndex()}`,
      );
    }
    this.truncateFrom(from);
    this.spans.push({
      seq: at.seq,
      offset: at.offset,
      length: at.length,
      first: from,
      last,
      recordFirst: first,
    });
  }

  private truncateFrom(index: number): void {
    const spans = this.spans;
    while (spans.length > 0 && (spans[spans.length - 1] as Span).first >= index) spans.pop();
    const tail = spans[spans.length - 1];
    if (tail && tail.last >= index) tail.last = index - 1;
  }

  installSnapshot(meta: SnapshotMeta): void {
    this.snapshot = meta;
    this.floor = meta.index;
    this.spans = [];
  }

  compact(meta: SnapshotMeta): void {
    if (meta.index <= this.floor) return;
    this.snapshot = meta;
    this.cutTo(meta.index);
  }

  private cutTo(index: number): void {
    if (index <= this.floor) return;
    this.floor = index;
    let drop = 0;
    while (drop < this.spans.length && (this.spans[drop] as Span).last <= index) drop++;
    if (drop > 0) this.spans.splice(0, drop);
    const head = this.spans[0];
    if (head && head.first <= index) head.first = index + 1;
  }

  restore(cp: GroupCheckpoint): void {
    this.hardState = cp.hardState;
    this.snapshot = cp.snapshot;
    this.cutTo(cp.floor);
  }

  checkpoint(group: number): GroupCheckpoint {
    return { group, hardState: this.hardState, snapshot: this.snapshot, floor: this.floor };
  }
}

export class LogIndex {
  private readonly byGroup = new Map<number, GroupLog>();

  get(group: number): GroupLog | undefined {
    return this.byGroup.get(group);
  }

  private touch(group: number): GroupLog {
    let g = this.byGroup.get(group);
    if (g === undefined) {
      g = new GroupLog();
      this.byGroup.set(group, g);
    }
    return g;
  }

  groups(): number[] {
    return [...this.byGroup.keys()].sort((a, b) => a - b);
  }

  /** Applies one record that lies at `at` (only entries records use the location). */
  apply(rec: LogRecord, at: RecordLocation): void {
    switch (rec.kind) {
      case "entries":
        this.touch(rec.group).appendEntries(rec.first, rec.count, at);
        break;
      case "hardState":
        this.touch(rec.group).hardState = rec.hardState;
        break;
      case "snapshot":
        this.touch(rec.group).installSnapshot(rec.meta);
        break;
      case "compact":
        this.touch(rec.group).compact(rec.meta);
        break;
      case "checkpoint":
        for (const cp of rec.groups) this.touch(cp.group).restore(cp);
        break;
      case "drop":
        this.byGroup.delete(rec.group);
        break;
    }
  }

  checkpoint(): GroupCheckpoint[] {
    return this.groups().map((id) => (this.byGroup.get(id) as GroupLog).checkpoint(id));
  }

  /** The oldest segment holding a live entry of any group; undefined when none does. */
  oldestLiveSegment(): number | undefined {
    let oldest: number | undefined;
    for (const g of this.byGroup.values()) {
      const head = g.spans[0];
      if (head && (oldest === undefined || head.seq < oldest)) oldest = head.seq;
    }
    return oldest;
  }

  /** Live entry spans across all groups (for stats). */
  spanCount(): number {
    let n = 0;
    for (const g of this.byGroup.values()) n += g.spans.length;
    return n;
  }
}
