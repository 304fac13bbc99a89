/**
 * A member's durable storage: what survives a crash. The host writes it exactly as the Ready
 * contract says (snapshot, then entries replacing the stored log from the first one's index,
 * then hard state), and a restart builds the new RaftNode from nothing else.
 */
import type { Config, Entry, HardState, RestartState, Snapshot } from "../../src/node/raft/types.js";
import { PropertyViolation } from "./checker.js";

export class Disk {
  private stored: HardState = { term: 0, vote: 0, commit: 0 };
  /** The commit index as of the last write the store makes: a crash loses later commit-only changes. */
  private writtenCommit = 0;
  snapshot: Snapshot;
  /** Contiguous from snapshot.meta.index + 1. */
  private entries: Entry[] = [];

  /** A brand new member: an empty log whose snapshot at index 0 carries the initial configuration. */
  constructor(config: Config, emptyImage: Uint8Array) {
    this.snapshot = { meta: { index: 0, term: 0, config }, data: emptyImage };
  }

  get firstIndex(): number {
    return this.snapshot.meta.index + 1;
  }

  get lastIndex(): number {
    return this.snapshot.meta.index + this.entries.length;
  }

  get lastTerm(): number {
    return this.entries[this.entries.length - 1]?.term ?? this.snapshot.meta.term;
  }

  /** The configuration a restart would have: that of the last stored conf entry, or the snapshot's. */
  get config(): Config {
    for (let k = this.entries.length - 1; k >= 0; k--) {
      const e = this.entries[k];
      if (e?.type === "confChange") return e.config;
    }
    return this.snapshot.meta.config;
  }

  termAt(index: number): number | undefined {
    const meta = this.snapshot.meta;
    if (index === meta.index) return meta.term;
    if (index < meta.index || index > this.lastIndex) return undefined;
    return this.entries[index - meta.index - 1]?.term;
  }

  /** A snapshot from the leader replaces the whole stored log (the core dropped its log too). */
  installSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = [];
  }

  /** Entries replace the stored log from entries[0].index on; they must attach to what is stored. */
  writeEntries(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index <= this.snapshot.meta.index || first.index > this.lastIndex + 1) {
      throw new PropertyViolation(
        "ready contract",
        `entries from ${first.index} do not attach to the stored log [${this.firstIndex}, ${this.lastIndex}]`,
      );
    }
    this.entries.length = first.index - this.firstIndex;
    let expected = first.index;
    for (const e of entries) {
      if (e.index !== expected) {
        throw new PropertyViolation(
          "ready contract",
          `ready entries skip from ${expected - 1} to ${e.index}`,
        );
      }
      this.entries.push(e);
      expected++;
    }
  }

  /** The host compacted: the snapshot is the new base and the entries it covers are dropped. */
  compact(snapshot: Snapshot): void {
    const drop = snapshot.meta.index - this.snapshot.meta.index;
    if (drop <= 0) return;
    this.entries = this.entries.slice(drop);
    this.snapshot = snapshot;
  }

  get hardState(): HardState {
    return this.stored;
  }

  /**
   * A ready's hard state, kept as the node's store keeps it (Group.hardStateToWrite): written
   * with entries or a snapshot (`withLogChange`) or when term or vote change; a change of the
   * commit index alone is not written, so a crash loses it (it is kept here until then only so
   * that the durability check can compare the core with the disk).
   */
  writeHardState(hardState: HardState, withLogChange: boolean): void {
    const written =
      withLogChange || hardState.term !== this.stored.term || hardState.vote !== this.stored.vote;
    this.stored = hardState;
    if (written) this.writtenCommit = hardState.commit;
  }

  /** A crash: what the store would not have written is gone. */
  loseUnwritten(): void {
    this.stored = { ...this.stored, commit: this.writtenCommit };
  }

  restartState(): RestartState {
    // What was compacted into the snapshot was committed, as restart-state.ts reasons with the
    // applied index: the commit index restarts at least there.
    this.stored = { ...this.stored, commit: Math.max(this.stored.commit, this.snapshot.meta.index) };
    // The core may keep the array it is given; ours is mutated in place by later writes.
    return {
      hardState: this.stored,
      snapshot: this.snapshot,
      entries: this.entries.slice(),
      applied: this.snapshot.meta.index,
    };
  }
}
