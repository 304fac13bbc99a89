import { Progress } from "./progress.js";
import { quorumValue } from "./quorum.js";
import type { RaftLog } from "./raft-log.js";
import type { Config, Message, NodeId } from "./types.js";

/** A message before the core stamps it with its id and term. */
export type Outgoing = Message extends infer M
  ? M extends Message
    ? Omit<M, "from" | "term">
    : never
  : never;

export interface ReplicationLimits {
  readonly maxInflight: number;
  readonly maxEntriesPerAppend: number;
}

/**
 * The leader's replication engine: one Progress per member, and what to send each of them so
 * that their logs converge on ours with as few messages as possible. It exists only while its
 * member leads; it decides nothing about terms, votes or commit rules.
 */
export class Replication {
  private readonly progress = new Map<NodeId, Progress>();
  /** Proposals or a commit advance since the last ready: one append per follower covers all. */
  broadcastDue = false;

  constructor(
    private readonly self: NodeId,
    private readonly log: RaftLog,
    private readonly send: (m: Outgoing) => void,
    private readonly limits: ReplicationLimits,
  ) {
    this.syncWithConfig(log.config());
    const own = this.progress.get(self);
    if (own) {
      own.maybeUpdate(log.stableIndex());
      own.becomeReplicate();
    }
  }

  get(member: NodeId): Progress | undefined {
    return this.progress.get(member);
  }

  /** Add progress for new members, drop it for removed ones. */
  syncWithConfig(config: Config): void {
    const members = new Set<NodeId>([...config.voters, ...config.learners]);
    for (const id of members) {
      if (!this.progress.has(id)) {
        const pr = new Progress(this.log.lastIndex() + 1, this.limits.maxInflight);
        // A new member counts as alive for one timeout, so adding it cannot fail check-quorum.
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
    for (const id of this.progress.keys()) {
      if (!members.has(id)) this.progress.delete(id);
    }
  }

  /** The leader made its log durable up to `index`: only now does it count towards a quorum. */
  selfPersisted(index: number): void {
    this.progress.get(this.self)?.maybeUpdate(index);
  }

  /** The highest index a quorum of voters holds. */
  quorumMatch(voters: readonly NodeId[]): number {
    return quorumValue(voters, (v) => this.progress.get(v)?.match ?? 0);
  }

  /** Whether a quorum was heard from since the last call (check-quorum); resets the marks. */
  quorumActive(voters: readonly NodeId[]): boolean {
    const active = quorumValue(voters, (v) =>
      v === this.self || this.progress.get(v)?.recentActive ? 1 : 0,
    );
    for (const [id, pr] of this.progress) if (id !== this.self) pr.recentActive = false;
    return active === 1;
  }

  /** The member whose log matches ours furthest, among `voters` (a successor for the leader). */
  mostCaughtUp(voters: readonly NodeId[]): { member: NodeId; match: number } | undefined {
    let best: { member: NodeId; match: number } | undefined;
    for (const v of voters) {
      const match = this.progress.get(v)?.match ?? 0;
      if (v !== this.self && (!best || match > best.match)) best = { member: v, match };
    }
    return best;
  }

  broadcast(sendIfEmpty: boolean): void {
    this.broadcastDue = false;
    for (const to of this.progress.keys()) {
      if (to !== this.self) {
        this.sendAppend(to, sendIfEmpty);
        this.fillPipeline(to);
      }
    }
  }

  /** With a window of N appends, a follower in the replicate state gets N at once. */
  fillPipeline(to: NodeId): void {
    const pr = this.progress.get(to);
    while (pr && pr.state === "replicate" && pr.next <= this.log.lastIndex() && this.sendAppend(to, false)) {}
  }

  /** Sends what `to` is missing (or a snapshot); false when nothing was sent. */
  sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      const snapshot = this.log.snapshot;
      this.send({ type: "snapshot", to, snapshot });
      pr.becomeSnapshot(snapshot.meta.index);
      return true;
    }
    const last = this.log.lastIndex();
    const entries = pr.next <= last ? this.log.slice(pr.next, pr.next + this.limits.maxEntriesPerAppend) : [];
    // A probe must go out even when empty: its answer is how we learn where the logs match.
    if (entries.length === 0 && !sendIfEmpty && pr.state !== "probe") return false;
    this.send({ type: "append", to, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(prevIndex + entries.length, entries.length > 0);
    return true;
  }

  /** A periodic round: heartbeats carrying the round's sequence `round`. */
  sendHeartbeats(round: number): void {
    const last = this.log.lastIndex();
    for (const [to, pr] of this.progress) {
      if (to === this.self) continue;
      // Appends can be lost: a pipeline that made no progress for a whole heartbeat interval
      // falls back to probing, so the heartbeat answer triggers a resend from `match`.
      if (pr.state === "replicate" && pr.match < last && pr.match === pr.matchAtLastHeartbeat)
        pr.becomeProbe();
      pr.matchAtLastHeartbeat = pr.match;
      this.sendHeartbeat(to, round);
    }
  }

  /** A round for ReadIndex reads waiting on one: heartbeats only, no flow-control side effects. */
  sendHeartbeatsForRead(round: number): void {
    for (const to of this.progress.keys()) if (to !== this.self) this.sendHeartbeat(to, round);
  }

  /** A snapshot that got lost would otherwise stall its follower forever. */
  tickSnapshots(retryAfterTicks: number): void {
    for (const pr of this.progress.values()) {
      if (pr.state === "snapshot" && ++pr.snapshotTicks >= retryAfterTicks) pr.snapshotLost();
    }
  }

  /** Flow control for an append answer; true when the follower's match advanced. */
  onAppendResponse(m: Extract<Message, { type: "appendResp" }>): boolean {
    const pr = this.progress.get(m.from);
    if (!pr) return false;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: skip every index of the term the follower says cannot match.
      const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, hint)) this.sendAppend(m.from, false);
      return false;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return false;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
    if (wasPaused) this.sendAppend(m.from, false);
    this.fillPipeline(m.from);
    return true;
  }

  onHeartbeatResponse(from: NodeId): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.match < this.log.lastIndex()) this.sendAppend(from, false);
  }

  private sendHeartbeat(to: NodeId, round: number): void {
    const pr = this.progress.get(to) as Progress;
    // Never let a heartbeat commit past what the follower is known to hold.
    const commit = Math.min(pr.match, this.log.committed);
    this.send({ type: "heartbeat", to, commit, readSeq: round });
  }
}
