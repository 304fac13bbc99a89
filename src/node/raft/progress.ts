/**
 * The leader's view of one follower (etcd's tracker.Progress).
 * - probe: we do not know where its log matches ours; one append at a time, backing off.
 * - replicate: it matches up to `match`; appends are pipelined, at most `maxInflight` in flight.
 * - snapshot: it needs a snapshot; nothing else is sent until it acknowledges one.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe: an append is outstanding, wait for its answer (or a heartbeat answer). */
  probeSent = false;
  /** The snapshot index we sent, while in the snapshot state. */
  pendingSnapshot = 0;
  /** Leader ticks spent in the snapshot state; a lost snapshot is retried after a while. */
  snapshotTicks = 0;
  /** `match` when the previous heartbeat went out; unchanged since then means appends were lost. */
  matchAtLastHeartbeat = 0;
  /** Heard from within the current election timeout (check-quorum). */
  recentActive = false;
  /** Last index of each append in flight, oldest first. */
  private inflight: number[] = [];

  constructor(
    next: number,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflight.length >= this.maxInflight;
      case "snapshot":
        return true;
    }
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot, so probing starts past it.
    this.next =
      this.state === "snapshot" ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight = [];
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflight = [];
  }

  becomeSnapshot(index: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = index;
    this.snapshotTicks = 0;
    this.probeSent = false;
    this.inflight = [];
  }

  /** The snapshot was never acknowledged: probe again from what is known to match. */
  snapshotLost(): void {
    this.pendingSnapshot = 0;
    this.becomeProbe();
  }

  /** An append carrying entries up to `last` left (empty appends carry only the commit index). */
  sentEntries(last: number, hadEntries: boolean): void {
    if (this.state === "replicate") {
      if (hadEntries) {
        this.next = last + 1;
        this.inflight.push(last);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /** The follower matches up to `index`; false when that is old news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    return updated;
  }

  /**
   * The follower refused the append after `rejected`; `hint` is the highest index that may
   * still match. False when the refusal is stale (an answer to an append we already moved past).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      return true;
    }
    if (this.state === "snapshot" || this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }
}
