import type { Config, Entry, Snapshot, SnapshotMeta } from "./types.js";

/** A broken invariant of the core: continuing could corrupt data, so the host must stop. */
export class RaftInvariantError extends Error {
  override name = "RaftInvariantError";
}

interface ConfPoint {
  readonly index: number;
  readonly config: Config;
}

/**
 * One member's log, held in memory from the last snapshot on (the host compacts it regularly,
 * so it stays small). It knows which suffix is not yet durable, so that `ready()` can hand out
 * exactly what must be persisted, and which configuration is in force (that of the last
 * conf-change entry, or of the snapshot).
 */
export class RaftLog {
  private snap: Snapshot;
  /** entries[i] has index snap.meta.index + 1 + i. */
  private log: Entry[];
  private confPoints: ConfPoint[] = [];
  /** The lowest index that is not known to be durable. */
  private unstableFrom: number;
  /** Lowest index rewritten since the last `ready()`, which that ready's persistence misses. */
  private rewrittenFrom = Number.POSITIVE_INFINITY;
  /** A snapshot received from the leader and not yet persisted by the host. */
  private pendingSnap: Snapshot | undefined;
  committed: number;
  applied: number;
  /** The last index handed to the host for applying (applied once it calls advance). */
  private handedTo: number;

  constructor(snapshot: Snapshot, entries: readonly Entry[], committed: number, applied: number) {
    this.snap = snapshot;
    this.log = [];
    let expected = snapshot.meta.index + 1;
    for (const e of entries) {
      if (e.index !== expected) {
        throw new RaftInvariantError(
          `stored log is not contiguous: expected index ${expected}, got ${e.index}`,
        );
      }
      this.push(e);
      expected++;
    }
    if (committed > this.lastIndex()) {
      throw new RaftInvariantError(
        `commit index ${committed} is beyond the stored log (${this.lastIndex()})`,
      );
    }
    if (applied < snapshot.meta.index || applied > committed) {
      throw new RaftInvariantError(
        `applied index ${applied} is outside [snapshot ${snapshot.meta.index}, commit ${committed}]`,
      );
    }
    this.unstableFrom = this.lastIndex() + 1;
    this.committed = committed;
    this.applied = applied;
    this.handedTo = applied;
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.log.length;
  }

  lastTerm(): number {
    return this.log.length > 0 ? (this.log[this.log.length - 1] as Entry).term : this.snap.meta.term;
  }

  /** The last index that is durable on this member. */
  stableIndex(): number {
    return Math.min(this.unstableFrom - 1, this.lastIndex());
  }

  /** The term of the entry at `index`; undefined when compacted away or not yet in the log. */
  term(index: number): number | undefined {
    const meta = this.snap.meta;
    if (index === meta.index) return meta.term;
    if (index < meta.index || index > this.lastIndex()) return undefined;
    return (this.log[index - meta.index - 1] as Entry).term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [from, to); `from` must not be compacted. */
  slice(from: number, to: number): Entry[] {
    const offset = this.snap.meta.index + 1;
    if (from < offset)
      throw new RaftInvariantError(`entries from ${from} are compacted (first is ${offset})`);
    return this.log.slice(from - offset, Math.max(from, to) - offset);
  }

  /**
   * The snapshot meta a cut at `index` would have (its term and the configuration in force
   * there); undefined when `index` is compacted away or past the last entry.
   */
  metaAt(index: number): SnapshotMeta | undefined {
    const term = this.term(index);
    return term === undefined ? undefined : { index, term, config: this.configAt(index) };
  }

  config(): Config {
    const last = this.confPoints[this.confPoints.length - 1];
    return last ? last.config : this.snap.meta.config;
  }

  /** The index of the last conf-change entry in the log (0 when there is none past the snapshot). */
  lastConfIndex(): number {
    const last = this.confPoints[this.confPoints.length - 1];
    return last ? last.index : 0;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The leader's append. */
  append(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1) {
      throw new RaftInvariantError(`append at ${entry.index} leaves a gap after ${this.lastIndex()}`);
    }
    this.push(entry);
  }

  /**
   * A follower's append (Figure 2, AppendEntries rules 2-5). Returns the last index now known
   * to match the leader, or undefined when the log does not contain (prevIndex, prevTerm).
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    commit: number,
    entries: readonly Entry[],
  ): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (this.matchTerm(e.index, e.term)) continue;
      if (e.index <= this.committed) {
        throw new RaftInvariantError(`entry ${e.index}@${e.term} conflicts with the committed log`);
      }
      this.truncateFrom(e.index);
      for (let j = i; j < entries.length; j++) this.push(entries[j] as Entry);
      break;
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /**
   * Fast backtracking (etcd's findConflictByTerm): the largest index <= `index` whose term is
   * <= `term`, with that term. Every index above it is known not to match a log whose entry
   * at `index` has `term`, so the leader can skip them all in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = Math.min(index, this.lastIndex()); i >= this.snap.meta.index; i--) {
      const t = this.term(i) as number;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snap.meta.index, term: 0 };
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
    return true;
  }

  /** Replace everything with a snapshot from the leader (the caller checked it is newer). */
  restore(snapshot: Snapshot): void {
    this.snap = snapshot;
    this.log = [];
    this.confPoints = [];
    this.pendingSnap = snapshot;
    this.unstableFrom = snapshot.meta.index + 1;
    this.rewrittenFrom = Math.min(this.rewrittenFrom, snapshot.meta.index + 1);
    this.committed = snapshot.meta.index;
    this.handedTo = snapshot.meta.index;
  }

  /** Drop entries up to `index`, which must be applied and durable, keeping `data` as its image. */
  compact(index: number, data: Uint8Array): boolean {
    if (index <= this.snap.meta.index) return false;
    if (index > this.applied || index > this.stableIndex()) {
      throw new RaftInvariantError(
        `cannot compact to ${index}: applied ${this.applied}, durable ${this.stableIndex()}`,
      );
    }
    const meta = this.metaAt(index) as SnapshotMeta;
    this.log = this.log.slice(index - this.snap.meta.index);
    this.confPoints = this.confPoints.filter((p) => p.index > index);
    this.snap = { meta, data };
    return true;
  }

  // --- what the host must persist and apply -------------------------------------------------

  unstableEntries(): Entry[] {
    return this.unstableFrom > this.lastIndex() ? [] : this.slice(this.unstableFrom, this.lastIndex() + 1);
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.pendingSnap;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.handedTo;
  }

  /** Committed entries not yet handed to the host, at most `max`. */
  nextCommitted(max: number): Entry[] {
    if (this.committed <= this.handedTo) return [];
    const to = Math.min(this.committed, this.handedTo + max);
    const entries = this.slice(this.handedTo + 1, to + 1);
    this.handedTo = to;
    return entries;
  }

  /** Called when a ready is handed out: rewrites after this point are tracked afresh. */
  markReadyTaken(): void {
    this.rewrittenFrom = Number.POSITIVE_INFINITY;
  }

  /** The host made these durable: a ready's entries up to `lastPersisted` and its snapshot. */
  stableTo(lastPersisted: number, snapshot: Snapshot | undefined): void {
    if (snapshot !== undefined && snapshot === this.pendingSnap) this.pendingSnap = undefined;
    if (lastPersisted > 0) {
      // Entries rewritten while the host was persisting are not durable, whatever it wrote.
      this.unstableFrom = Math.max(this.unstableFrom, Math.min(lastPersisted + 1, this.rewrittenFrom));
    }
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  // --- internals ---------------------------------------------------------------------------

  private push(entry: Entry): void {
    this.log.push(entry);
    if (entry.type === "confChange") this.confPoints.push({ index: entry.index, config: entry.config });
  }

  private truncateFrom(index: number): void {
    this.log.length = index - this.snap.meta.index - 1;
    while (
      this.confPoints.length > 0 &&
      (this.confPoints[this.confPoints.length - 1] as ConfPoint).index >= index
    ) {
      this.confPoints.pop();
    }
    this.unstableFrom = Math.min(this.unstableFrom, index);
    this.rewrittenFrom = Math.min(this.rewrittenFrom, index);
  }

  private configAt(index: number): Config {
    let config = this.snap.meta.config;
    for (const p of this.confPoints) {
      if (p.index > index) break;
      config = p.config;
    }
    return config;
  }
}
