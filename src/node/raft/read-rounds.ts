import { quorumValue } from "./quorum.js";
import type { NodeId } from "./types.js";

/** A ReadIndex request the leader recorded at its commit index. */
export interface PendingRead {
  readonly context: string;
  readonly index: number;
  /** The member that asked: the leader itself, or a follower that forwarded it. */
  readonly from: NodeId;
}

/**
 * ReadIndex rounds (Raft thesis 6.4): a read recorded at commit index i may be served once a
 * quorum has acknowledged a heartbeat sent after it was recorded, which proves that no other
 * leader had been elected when the read arrived. Heartbeats carry an increasing sequence; an
 * acknowledgement of sequence s confirms every read recorded up to s, so one heartbeat round
 * serves any number of reads.
 */
export class ReadRounds {
  private seq = 0;
  private queue: { read: PendingRead; seq: number }[] = [];
  private acked = new Map<NodeId, number>();

  /** Records a read; a heartbeat carrying `latestSeq()` from now on confirms it. */
  start(read: PendingRead): void {
    this.seq++;
    this.queue.push({ read, seq: this.seq });
  }

  /** The sequence that heartbeats carry now (0 when no read waits). */
  latestSeq(): number {
    return this.queue.length > 0 ? this.seq : 0;
  }

  /** A heartbeat answer; returns the reads a quorum has now confirmed, oldest first. */
  ack(from: NodeId, seq: number, voters: readonly NodeId[], self: NodeId): PendingRead[] {
    if (seq > (this.acked.get(from) ?? 0)) this.acked.set(from, seq);
    const confirmed = quorumValue(voters, (v) => (v === self ? this.seq : (this.acked.get(v) ?? 0)));
    let n = 0;
    while (n < this.queue.length && (this.queue[n] as { seq: number }).seq <= confirmed) n++;
    return this.queue.splice(0, n).map((q) => q.read);
  }

  /** Leadership ended: the reads are dropped (their requesters time out and retry). */
  reset(): PendingRead[] {
    const dropped = this.queue.map((q) => q.read);
    this.queue = [];
    this.acked.clear();
    return dropped;
  }
}
