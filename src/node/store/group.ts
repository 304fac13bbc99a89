import type { NodeId, PartitionId } from "../ids.js";
import type { RaftNode } from "../raft/raft.js";
import type { Entry, HardState, ReadState, Ready, Refusal } from "../raft/types.js";
import { NotLeaderError, ProposalDroppedError, ProposalOutcomeUnknownError } from "./errors.js";

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** Where a write landed in the partition's log. */
export interface Applied {
  readonly index: number;
  readonly term: number;
}

/**
 * When a proposal is answered: once its entry is committed (a quorum holds it durably, so it
 * will be applied everywhere, and any later linearizable read waits for that), or once it is
 * applied here (its proposer needs what the apply found, e.g. whether a deleted key existed).
 */
export type AnswerAt = "commit" | "apply";

interface Proposal {
  readonly term: number;
  readonly answerAt: AnswerAt;
  resolve(a: Applied): void;
  reject(e: Error): void;
}

/**
 * One partition's Raft member on this node and the requests waiting on it: proposals wait
 * until their entry is committed or applied here (same index AND term, or they were lost),
 * linearizable reads until their ReadIndex is confirmed and applied here.
 */
export class Group {
  private readonly proposals = new Map<number, Proposal>();
  private readonly readRequests = new Map<string, Waiter>();
  /** Confirmed reads, waiting for the applied index to reach theirs; indexes only grow. */
  private confirmedReads: { index: number; waiter: Waiter }[] = [];
  private readSeq = 0;
  private knownLeader: NodeId | 0 = 0;
  /** When (ms, wall clock) the current leader was first seen: leader balancing waits a while. */
  leaderSince = 0;
  /** Installing a snapshot from the leader: the store neither ticks nor steps nor drives it. */
  installing = false;
  /**
   * Since the node started: snapshots installed here, sent from here (acknowledged), compactions,
   * and new leaders learned (a change to "no leader" is not counted).
   */
  readonly counts = { snapshotsInstalled: 0, snapshotsSent: 0, compactions: 0, leaderChanges: 0 };

  /** Term and vote as last written to the Raft log. */
  private written: { term: number; vote: NodeId | 0 };
  /**
   * The index the state machine has applied for this group. The core's applied index runs ahead
   * of it while a cycle's apply is in flight (the store advances the core before applying), and
   * reads are served from the state machine, so they go by this one.
   */
  private applied: number;

  constructor(
    readonly partition: PartitionId,
    readonly raft: RaftNode,
  ) {
    this.written = { term: raft.term, vote: raft.vote };
    this.applied = raft.appliedIndex;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /**
   * The hard state a ready must write. The commit index alone is volatile (Raft, figure 2) and a
   * restart takes the applied index as its floor (restart-state.ts), so a ready that only moves
   * the commit index writes nothing: no fdatasync and no thread-pool hop between a quorum's
   * acknowledgement and the apply. With entries or a snapshot it is written along, for free.
   */
  hardStateToWrite(ready: Ready): HardState | undefined {
    const hs = ready.hardState;
    if (hs === undefined) return undefined;
    const logChanges = ready.entries.length > 0 || ready.snapshot !== undefined;
    if (!logChanges && hs.term === this.written.term && hs.vote === this.written.vote) return undefined;
    this.written = { term: hs.term, vote: hs.vote };
    return hs;
  }

  propose(data: Uint8Array, answerAt: AnswerAt): Promise<Applied> {
    const result = this.raft.propose(data);
    if (!result.ok) return Promise.reject(this.refusalError(result));
    return new Promise((resolve, reject) => {
      this.proposals.set(result.index, { term: result.term, answerAt, resolve, reject });
    });
  }

  /** Resolves once reading this replica's applied state is linearizable (ReadIndex). */
  readBarrier(): Promise<void> {
    const context = `${this.partition}:${++this.readSeq}`;
    const result = this.raft.readIndex(context);
    if (!result.ok) return Promise.reject(this.refusalError(result));
    return new Promise((resolve, reject) => this.readRequests.set(context, { resolve, reject }));
  }

  /**
   * A read served from the leader's lease: resolves once the commit index is applied here
   * (usually at once). Undefined when this member may not (see RaftNode.leaseRead): take
   * readBarrier then.
   */
  leaseReadBarrier(): Promise<void> | undefined {
    const index = this.raft.leaseRead();
    if (index === undefined) return undefined;
    if (index <= this.applied) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.confirmedReads.push({ index, waiter: { resolve, reject } });
      this.confirmedReads.sort((a, b) => a.index - b.index);
    });
  }

  /** Records the leader a ready reported; true when it differs from the one before. */
  noteLeader(leader: NodeId | 0, now: number): boolean {
    const changed = leader !== this.knownLeader;
    if (changed && leader !== 0) this.counts.leaderChanges++;
    this.knownLeader = leader;
    if (changed) this.leaderSince = now;
    return changed;
  }

  /** A ready's committed entries, as soon as the ready is taken: answers those asked at commit. */
  onCommitted(entries: readonly Entry[]): void {
    if (this.proposals.size > 0) this.settle(entries, "commit");
  }

  onApplied(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1];
    if (last) this.applied = Math.max(this.applied, last.index);
    if (this.proposals.size > 0) this.settle(entries, "apply");
    this.serveReads();
  }

  /**
   * Answers the proposals at these entries that wait for `stage`. An entry of another term at a
   * proposal's index means the proposal was overwritten by a new leader: it will never commit.
   */
  private settle(entries: readonly Entry[], stage: AnswerAt): void {
    for (const entry of entries) {
      const proposal = this.proposals.get(entry.index);
      if (!proposal) continue;
      if (proposal.term !== entry.term) {
        this.proposals.delete(entry.index);
        proposal.reject(new ProposalDroppedError(this.partition));
      } else if (proposal.answerAt === stage) {
        this.proposals.delete(entry.index);
        proposal.resolve({ index: entry.index, term: entry.term });
      }
    }
  }

  /**
   * The log was replaced by a snapshot up to `index`: proposals at or below it will never be
   * applied one by one here, and whether the leader's log had them is unknown.
   */
  onSnapshotRestored(index: number): void {
    this.applied = Math.max(this.applied, index);
    for (const [at, proposal] of this.proposals) {
      if (at > index) continue;
      this.proposals.delete(at);
      proposal.reject(new ProposalOutcomeUnknownError(this.partition));
    }
  }

  onReadStates(states: readonly ReadState[]): void {
    for (const state of states) {
      const waiter = this.readRequests.get(state.context);
      if (!waiter) continue;
      this.readRequests.delete(state.context);
      this.confirmedReads.push({ index: state.index, waiter });
    }
    if (states.length > 1) this.confirmedReads.sort((a, b) => a.index - b.index);
    this.serveReads();
  }

  serveReads(): void {
    const applied = this.applied;
    let n = 0;
    while (n < this.confirmedReads.length && (this.confirmedReads[n] as { index: number }).index <= applied)
      n++;
    for (const { waiter } of this.confirmedReads.splice(0, n)) waiter.resolve();
  }

  /**
   * The leader changed: reads waiting for confirmation were dropped by the core (as leader) or
   * went to a leader that is gone (as follower); fail them now rather than at the deadline.
   */
  onLeaderChanged(): void {
    const leader = this.raft.leader;
    for (const waiter of this.readRequests.values()) {
      waiter.reject(new NotLeaderError(this.partition, leader, "leadership changed"));
    }
    this.readRequests.clear();
  }

  failAll(error: Error): void {
    for (const p of this.proposals.values()) p.reject(error);
    for (const w of this.readRequests.values()) w.reject(error);
    for (const { waiter } of this.confirmedReads) waiter.reject(error);
    this.proposals.clear();
    this.readRequests.clear();
    this.confirmedReads = [];
  }

  private refusalError(refusal: Refusal): Error {
    switch (refusal.reason) {
      case "notLeader":
        return new NotLeaderError(this.partition, refusal.leader);
      case "transferring":
        return new NotLeaderError(this.partition, refusal.leader, "leadership is being transferred");
      default:
        return new NotLeaderError(this.partition, this.raft.leader, refusal.reason);
    }
  }
}
