import { quorumValue } from "./quorum.js";
import type { NodeId } from "./types.js";

/** A ReadIndex request the leader recorded at its commit index. */
export interface PendingRead {
  readonly context: string;
  readonly index: number;
  /** The member that asked: the leader itself, or a follower that forwarded it. */
  readonly from: NodeId;
}

/** No round acknowledged: a tick before any a member can have. */
const NEVER = Number.MIN_SAFE_INTEGER;

/**
 * The leader's heartbeat rounds and what a quorum acknowledging one proves. Every heartbeat
 * carries its round's sequence (`readSeq` on the wire) and the answer echoes it; a round is
 * recorded with the tick it left at. Once a quorum of voters has acknowledged round k:
 * - ReadIndex (Raft thesis 6.4): no other leader had been elected when round k left, so a read
 *   recorded before it may be served at the commit index it was recorded at. One round serves
 *   any number of reads.
 * - Leader lease: each of those voters, having heard from this leader, refuses to vote for
 *   anyone else for an election timeout on its own clock (raft.ts, `holdsVote`), so no other
 *   leader can be elected until about an election timeout after round k left; see raft.ts
 *   `holdsLease` for the margin.
 */
export class HeartbeatRounds {
  private seq = 0;
  /** Rounds sent within the last election timeout, oldest first; sequences are consecutive. */
  private sent: { seq: number; tick: number }[] = [];
  private queue: { read: PendingRead; seq: number }[] = [];
  /** The newest round each member acknowledged, and the tick that round left at. */
  private acked = new Map<NodeId, { seq: number; tick: number }>();

  /**
   * A round leaves at `tick`; returns the sequence its heartbeats carry. Rounds that left
   * before `forgetBefore` can no longer give a lease and are forgotten.
   */
  send(tick: number, forgetBefore: number): number {
    this.seq++;
    this.sent.push({ seq: this.seq, tick });
    let n = 0;
    while (n < this.sent.length - 1 && (this.sent[n] as { tick: number }).tick < forgetBefore) n++;
    if (n > 0) this.sent.splice(0, n);
    return this.seq;
  }

  /** Records a read; the next round to leave confirms it. */
  start(read: PendingRead): void {
    this.queue.push({ read, seq: this.seq + 1 });
  }

  /** A heartbeat answer; returns the reads a quorum has now confirmed, oldest first. */
  ack(from: NodeId, seq: number, voters: readonly NodeId[], self: NodeId): PendingRead[] {
    if (seq > (this.acked.get(from)?.seq ?? 0)) {
      const first = this.sent[0];
      const round = first && seq >= first.seq ? this.sent[seq - first.seq] : undefined;
      this.acked.set(from, { seq, tick: round?.tick ?? NEVER });
    }
    if (this.queue.length === 0) return [];
    const confirmed = quorumValue(voters, (v) => (v === self ? this.seq : (this.acked.get(v)?.seq ?? 0)));
    let n = 0;
    while (n < this.queue.length && (this.queue[n] as { seq: number }).seq <= confirmed) n++;
    return this.queue.splice(0, n).map((q) => q.read);
  }

  /**
   * The tick at which the newest round that a quorum of voters acknowledged left, the leader
   * counting as having acknowledged one at `now`; far in the past when there is none.
   */
  quorumTick(voters: readonly NodeId[], self: NodeId, now: number): number {
    return quorumValue(voters, (v) => (v === self ? now : (this.acked.get(v)?.tick ?? NEVER)));
  }

  /** Leadership ended: the reads are dropped (their requesters time out and retry). */
  reset(): PendingRead[] {
    const dropped = this.queue.map((q) => q.read);
    this.queue = [];
    this.sent = [];
    this.acked.clear();
    return dropped;
  }
}
