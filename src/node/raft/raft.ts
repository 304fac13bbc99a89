import { applyConfChange } from "./conf-change.js";
import { HeartbeatRounds, type PendingRead } from "./heartbeat-rounds.js";
import { tallyVotes } from "./quorum.js";
import { RaftInvariantError, RaftLog } from "./raft-log.js";
import { type Outgoing, Replication } from "./replication.js";
import type {
  ConfChange,
  Config,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  RaftOptions,
  RandomSource,
  ReadState,
  Ready,
  RequestResult,
  RestartState,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "./types.js";

export type { PendingRead };
export { applyConfChange };

const EMPTY = new Uint8Array(0);
/** At most this many committed entries in one ready, so that applying stays incremental. */
const MAX_COMMITTED_PER_READY = 4096;
/**
 * A lease ends this many ticks short of an election timeout after the round that gave it: one
 * for where within a tick each process's clock stands, one for the skew between their clocks.
 */
const LEASE_MARGIN_TICKS = 2;

/**
 * One member of one Raft group, as a deterministic state machine in the style of etcd-io/raft:
 * no I/O, timers, clock or global random. The host calls `tick`, `step` and the request
 * methods, then drains `ready()` and calls `advance()`; see `Ready` for the contract.
 *
 * The protected methods are the rules that safety rests on, one method per rule, so that the
 * simulator can prove it notices when one of them is broken.
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: RandomSource;
  private readonly maxInflight: number;
  private readonly maxEntriesPerAppend: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;

  private currentTerm: number;
  private votedFor: NodeId | 0;
  private currentRole: Role = "follower";
  private lead: NodeId | 0 = 0;
  private readonly raftLog: RaftLog;

  private electionElapsed = 0;
  /** Ticks since this member started: the clock of leases (the host ticks it with real time). */
  private ticks = 0;
  /**
   * The tick at which a leader was last heard from (0, the start, until one is): a voter that
   * restarted forgot when it last heard one, so it assumes it just did (see holdsVote).
   */
  private leaderContact = 0;
  /** This leader sent TimeoutNow in its term: its voters may now skip their lease, so must it. */
  private leaseForfeited = false;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  /** The leader's replication state; undefined on every other role. */
  private replication: Replication | undefined;
  private leadTransferee: NodeId | 0 = 0;
  /** Index of the newest conf change this leader proposed; another waits until it commits. */
  private pendingConfIndex = 0;
  private readonly rounds = new HeartbeatRounds();
  /** ReadIndex requests received before this leader committed an entry of its term. */
  private readsAwaitingCommit: PendingRead[] = [];
  /** Reads were recorded since the last ready: one heartbeat round at the next ready confirms them all. */
  private readRoundDue = false;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private readyOutstanding = false;

  constructor(options: RaftOptions, state: RestartState) {
    if (options.heartbeatTicks <= 0 || options.electionTicks <= options.heartbeatTicks) {
      throw new RangeError("electionTicks must be greater than heartbeatTicks, which must be positive");
    }
    this.id = options.id;
    this.electionTicks = options.electionTicks;
    this.heartbeatTicks = options.heartbeatTicks;
    this.random = options.random;
    this.maxInflight = options.maxInflight ?? 256;
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? 256;
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    const hs = state.hardState;
    this.raftLog = new RaftLog(state.snapshot, state.entries, hs.commit, state.applied);
    this.currentTerm = hs.term;
    this.votedFor = hs.vote;
    this.prevHardState = hs;
    this.becomeFollower(hs.term, 0);
    this.prevSoftState = this.softState();
  }

  // --- introspection ---------------------------------------------------------------------------

  get role(): Role {
    return this.currentRole;
  }
  get term(): number {
    return this.currentTerm;
  }
  get leader(): NodeId | 0 {
    return this.lead;
  }
  get vote(): NodeId | 0 {
    return this.votedFor;
  }
  get commitIndex(): number {
    return this.raftLog.committed;
  }
  get appliedIndex(): number {
    return this.raftLog.applied;
  }
  get config(): Config {
    return this.raftLog.config();
  }
  get firstIndex(): number {
    return this.raftLog.firstIndex();
  }
  get lastIndex(): number {
    return this.raftLog.lastIndex();
  }
  get snapshotMeta(): SnapshotMeta {
    return this.raftLog.snapshot.meta;
  }
  termAt(index: number): number | undefined {
    return this.raftLog.term(index);
  }
  /**
   * Term and configuration at `index` (an index from the snapshot's to the last entry's), as a
   * snapshot cut there would carry them; undefined for an index compacted away or not yet in
   * the log. The host uses it to describe a state-machine image taken at its applied index.
   */
  snapshotMetaAt(index: number): SnapshotMeta | undefined {
    return this.raftLog.metaAt(index);
  }
  entries(from: number, to: number): readonly Entry[] {
    return this.raftLog.slice(from, to);
  }
  /**
   * Replication state of each member as the leader sees it (empty on other roles); recentActive:
   * it answered since the last check-quorum round (an election timeout).
   */
  progressOf(
    member: NodeId,
  ): { match: number; next: number; state: string; recentActive: boolean } | undefined {
    const pr = this.replication?.get(member);
    return pr && { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive };
  }

  // --- inputs --------------------------------------------------------------------------------

  tick(): void {
    this.ticks++;
    if (this.currentRole === "leader") this.tickLeader();
    else this.tickElection();
  }

  propose(data: Uint8Array): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    const entry: Entry = {
      type: "normal",
      term: this.currentTerm,
      index: this.raftLog.lastIndex() + 1,
      data,
    };
    this.appendAsLeader(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.refuseProposal();
    if (refusal) return refusal;
    // A new leader's pendingConfIndex is its last index at election, so it must first commit an
    // entry of its own term: that closes the single-server-change bug (Ongaro, raft-dev 2015).
    if (this.pendingConfIndex > this.raftLog.committed) return { ok: false, reason: "confChangePending" };
    const next = applyConfChange(this.raftLog.config(), change);
    if (typeof next === "string") return { ok: false, reason: "invalidConfChange", detail: next };
    const index = this.raftLog.lastIndex() + 1;
    this.appendAsLeader({ type: "confChange", term: this.currentTerm, index, change, config: next });
    this.pendingConfIndex = index;
    return { ok: true, index, term: this.currentTerm };
  }

  readIndex(context: string): RequestResult {
    if (this.currentRole === "leader") {
      this.handleReadRequest({ context, index: 0, from: this.id });
      return { ok: true };
    }
    if (this.currentRole !== "follower" || this.lead === 0)
      return { ok: false, reason: "notLeader", leader: 0 };
    this.send({ type: "readIndex", to: this.lead, context });
    return { ok: true };
  }

  /**
   * A read that this leader may serve from its lease, without a heartbeat round: the index the
   * host must have applied before reading (the commit index now). Undefined when it may not
   * (not the leader, no lease, no entry of its term committed yet): use readIndex then. The
   * host must have delivered every tick that real time owes before asking (see holdsLease).
   */
  leaseRead(): number | undefined {
    if (this.currentRole !== "leader") return undefined;
    if (this.raftLog.term(this.raftLog.committed) !== this.currentTerm) return undefined;
    return this.holdsLease() ? this.raftLog.committed : undefined;
  }

  transferLeader(target: NodeId): RequestResult {
    if (this.currentRole !== "leader") return { ok: false, reason: "notLeader", leader: this.lead };
    if (target === this.id || target === this.leadTransferee) return { ok: true };
    if (!this.raftLog.config().voters.includes(target)) {
      return {
        ok: false,
        reason: "invalidConfChange",
        detail: `node ${target} is not a voter of this group`,
      };
    }
    this.leadTransferee = target;
    // The transfer must finish within one election timeout, or it is abandoned (see tickLeader).
    this.electionElapsed = 0;
    const replication = this.replication as Replication;
    if (replication.get(target)?.match === this.raftLog.lastIndex()) this.sendTimeoutNow(target);
    else replication.sendAppend(target, false);
    return { ok: true };
  }

  /**
   * Drops the log up to `index` (applied and durable), keeping `data` as the state-machine image
   * at `index` for followers that fall behind. Returns false, changing nothing, when the core
   * already holds a snapshot at or past `index` (say, one just received from the leader): the
   * host must then not compact its own storage either.
   */
  compact(index: number, data: Uint8Array): boolean {
    return this.raftLog.compact(index, data);
  }

  step(m: Message): void {
    if (m.term > this.currentTerm) {
      // Leader stickiness, which leader leases rest on: while we hear from a live leader, a
      // member that merely timed out (say, one coming back from a partition) must not depose it.
      if ((m.type === "preVote" || m.type === "vote") && !m.transfer && this.holdsVote()) return;
      if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) {
        // A pre-vote changes no term: neither the request nor a grant of it.
      } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0);
      }
    } else if (m.term < this.currentTerm) {
      if (m.type === "append" || m.type === "heartbeat") {
        // A deposed leader cut off by a partition: tell it the new term so that it steps down.
        this.send({ type: "appendResp", to: m.from, reject: false, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "preVote" || m.type === "vote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.currentRole) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  // --- output --------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.readyOutstanding) return false;
    const ss = this.softState();
    return (
      this.replication?.broadcastDue === true ||
      this.readRoundDue ||
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.raftLog.unstableEntries().length > 0 ||
      this.raftLog.pendingSnapshot() !== undefined ||
      this.raftLog.hasNextCommitted() ||
      !sameHardState(this.hardState(), this.prevHardState) ||
      ss.role !== this.prevSoftState.role ||
      ss.leader !== this.prevSoftState.leader
    );
  }

  ready(): Ready {
    if (this.readyOutstanding) throw new RaftInvariantError("ready() called again before advance()");
    if (this.replication?.broadcastDue) this.replication.broadcast(true);
    if (this.readRoundDue) {
      this.readRoundDue = false;
      this.replication?.sendHeartbeatsForRead(this.nextRound());
    }
    const hs = this.hardState();
    const rd: Ready = {
      softState: this.softState(),
      hardState: sameHardState(hs, this.prevHardState) ? undefined : hs,
      entries: this.raftLog.unstableEntries(),
      snapshot: this.raftLog.pendingSnapshot(),
      messages: this.msgs,
      committedEntries: this.raftLog.nextCommitted(MAX_COMMITTED_PER_READY),
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevSoftState = rd.softState;
    this.raftLog.markReadyTaken();
    this.readyOutstanding = true;
    return rd;
  }

  advance(rd: Ready): void {
    this.readyOutstanding = false;
    if (rd.hardState) this.prevHardState = rd.hardState;
    const lastPersisted = rd.entries.length > 0 ? (rd.entries[rd.entries.length - 1] as Entry).index : 0;
    this.raftLog.stableTo(lastPersisted, rd.snapshot);
    if (rd.snapshot) this.raftLog.appliedTo(rd.snapshot.meta.index);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.raftLog.appliedTo(lastApplied.index);
    if (this.replication && lastPersisted > 0) {
      this.replication.selfPersisted(this.raftLog.stableIndex());
      this.maybeCommit();
    }
  }

  // --- rules (protected: the simulator breaks each one on purpose) ----------------------------

  /** Election restriction (§5.4.1): grant only to a candidate whose log is at least as up to date. */
  protected isLogUpToDate(lastIndex: number, lastTerm: number): boolean {
    return this.raftLog.isUpToDate(lastIndex, lastTerm);
  }

  /** Commit rule (§5.4.2): a leader commits by counting replicas only for entries of its own term. */
  protected isCommittable(index: number): boolean {
    return this.raftLog.term(index) === this.currentTerm;
  }

  /** ReadIndex (thesis §6.4): confirm leadership with a heartbeat round before serving. */
  protected beginReadRound(read: PendingRead): void {
    const voters = this.raftLog.config().voters;
    if (voters.length === 1 && voters[0] === this.id) {
      this.releaseRead(read);
      return;
    }
    this.rounds.start(read);
    this.readRoundDue = true;
  }

  /**
   * Leader lease: a quorum acknowledged a round that left at tick s, and each of them refuses
   * other candidates until an election timeout after it heard that round (holdsVote), on a
   * clock that never runs ahead of real time; so no other leader can exist before s +
   * electionTicks on ours, which real time never outruns either once the host delivered the
   * ticks it owes. Less a margin. A transfer lets voters skip the check: it ends the lease.
   */
  protected holdsLease(): boolean {
    if (!this.checkQuorum || this.leaseForfeited) return false;
    const since = this.rounds.quorumTick(this.raftLog.config().voters, this.id, this.ticks);
    return this.ticks < since + this.electionTicks - LEASE_MARGIN_TICKS;
  }

  /**
   * The other half of the lease (and of check-quorum's stickiness): a member that heard from a
   * leader within an election timeout ignores candidates, and so does a leader. A member that
   * just started counts as having just heard from one: it may have acknowledged a round that
   * gave a lease before it restarted.
   */
  protected holdsVote(): boolean {
    if (!this.checkQuorum) return false;
    return this.currentRole === "leader" || this.ticks - this.leaderContact < this.electionTicks;
  }

  protected releaseRead(read: PendingRead): void {
    if (read.from === this.id) this.readStates.push({ context: read.context, index: read.index });
    else this.send({ type: "readIndexResp", to: read.from, context: read.context, index: read.index });
  }

  // --- roles ---------------------------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId | 0): void {
    this.leaveLeadership();
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = 0;
    }
    this.currentRole = "follower";
    this.lead = leader;
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    this.leaveLeadership();
    this.currentRole = "preCandidate";
    this.lead = 0;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
  }

  private becomeCandidate(): void {
    this.leaveLeadership();
    this.currentTerm++;
    this.votedFor = this.id;
    this.currentRole = "candidate";
    this.lead = 0;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
  }

  private becomeLeader(): void {
    this.currentRole = "leader";
    this.lead = this.id;
    this.leaseForfeited = false;
    this.resetElectionTimer();
    this.replication = new Replication(this.id, this.raftLog, (m) => this.send(m), {
      maxInflight: this.maxInflight,
      maxEntriesPerAppend: this.maxEntriesPerAppend,
    });
    this.appendAsLeader({
      type: "normal",
      term: this.currentTerm,
      index: this.raftLog.lastIndex() + 1,
      data: EMPTY,
    });
    // Conf changes wait until this no-op, an entry of the leader's own term, has committed.
    this.pendingConfIndex = this.raftLog.lastIndex();
  }

  private leaveLeadership(): void {
    if (this.currentRole !== "leader") return;
    for (const read of [...this.rounds.reset(), ...this.readsAwaitingCommit]) {
      if (read.from !== this.id) {
        this.send({ type: "readIndexResp", to: read.from, context: read.context, index: 0 });
      }
    }
    this.readsAwaitingCommit = [];
    this.readRoundDue = false;
    this.replication = undefined;
    this.leadTransferee = 0;
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.random(this.electionTicks);
  }

  private isPromotable(): boolean {
    return this.raftLog.config().voters.includes(this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.isPromotable()) {
      this.campaign(this.preVote ? "preVote" : "vote", false);
    }
  }

  private tickLeader(): void {
    const replication = this.replication as Replication;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !replication.quorumActive(this.raftLog.config().voters)) {
        this.becomeFollower(this.currentTerm, 0);
        return;
      }
      this.leadTransferee = 0;
    }
    replication.tickSnapshots(2 * this.electionTicks);
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      replication.sendHeartbeats(this.nextRound());
    }
  }

  /** A heartbeat round leaves now: its sequence, recorded with the current tick. */
  private nextRound(): number {
    return this.rounds.send(this.ticks, this.ticks - this.electionTicks);
  }

  private campaign(kind: "preVote" | "vote", transfer: boolean): void {
    if (kind === "preVote") this.becomePreCandidate();
    else this.becomeCandidate();
    const voters = this.raftLog.config().voters;
    if (tallyVotes(voters, this.votes) === "won") {
      this.onElectionWon(kind);
      return;
    }
    const term = kind === "preVote" ? this.currentTerm + 1 : this.currentTerm;
    for (const to of voters) {
      if (to === this.id) continue;
      this.msgs.push({
        type: kind,
        from: this.id,
        to,
        term,
        lastLogIndex: this.raftLog.lastIndex(),
        lastLogTerm: this.raftLog.lastTerm(),
        transfer,
      });
    }
  }

  private onElectionWon(kind: "preVote" | "vote"): void {
    if (kind === "preVote") this.campaign("vote", false);
    else {
      this.becomeLeader();
      this.replication?.broadcast(true);
    }
  }

  private handleVoteRequest(m: Extract<Message, { type: "preVote" | "vote" }>): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === 0 && this.lead === 0) ||
      (m.type === "preVote" && m.term > this.currentTerm);
    const respType = m.type === "preVote" ? "preVoteResp" : "voteResp";
    if (canVote && this.isLogUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A pre-vote grant answers in the term asked about, so the pre-candidate can count it.
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        // Someone won this term (for a pre-candidate: the term it is still in).
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case "preVoteResp":
      case "voteResp": {
        const kind = m.type === "preVoteResp" ? "preVote" : "vote";
        if ((kind === "preVote") !== (this.currentRole === "preCandidate")) return;
        this.votes.set(m.from, !m.reject);
        const outcome = tallyVotes(this.raftLog.config().voters, this.votes);
        if (outcome === "won") this.onElectionWon(kind);
        else if (outcome === "lost") this.becomeFollower(this.currentTerm, 0);
        return;
      }
      case "readIndex":
        this.send({ type: "readIndexResp", to: m.from, context: m.context, index: 0 });
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "append":
        this.electionElapsed = 0;
        this.leaderContact = this.ticks;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leaderContact = this.ticks;
        this.lead = m.from;
        this.raftLog.commitTo(Math.min(m.commit, this.raftLog.lastIndex()));
        this.send({ type: "heartbeatResp", to: m.from, readSeq: m.readSeq });
        return;
      case "snapshot":
        this.electionElapsed = 0;
        this.leaderContact = this.ticks;
        this.lead = m.from;
        this.handleSnapshot(m.snapshot, m.from);
        return;
      case "timeoutNow":
        // The leader is handing over: campaign at once, without pre-vote and past the lease.
        if (this.isPromotable()) this.campaign("vote", true);
        return;
      case "readIndex":
        this.send({ type: "readIndexResp", to: m.from, context: m.context, index: 0 });
        return;
      case "readIndexResp":
        if (m.index > 0) this.readStates.push({ context: m.context, index: m.index });
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    const replication = this.replication as Replication;
    switch (m.type) {
      case "appendResp":
        if (replication.onAppendResponse(m)) {
          this.maybeCommit();
          if (m.from === this.leadTransferee && replication.get(m.from)?.match === this.raftLog.lastIndex()) {
            this.sendTimeoutNow(m.from);
          }
        }
        return;
      case "heartbeatResp": {
        replication.onHeartbeatResponse(m.from);
        if (m.readSeq > 0) {
          for (const read of this.rounds.ack(m.from, m.readSeq, this.raftLog.config().voters, this.id)) {
            this.releaseRead(read);
          }
        }
        return;
      }
      case "readIndex":
        this.handleReadRequest({ context: m.context, index: 0, from: m.from });
        return;
      default:
        return;
    }
  }

  // --- replication ---------------------------------------------------------------------------

  private handleAppend(m: Extract<Message, { type: "append" }>): void {
    const log = this.raftLog;
    if (m.prevIndex < log.committed) {
      // Everything up to our commit index matches any leader's log; resume from there.
      this.send({
        type: "appendResp",
        to: m.from,
        reject: false,
        index: log.committed,
        hintIndex: 0,
        hintTerm: 0,
      });
      return;
    }
    const lastNew = log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: "appendResp", to: m.from, reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const hint = log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex()), m.prevTerm);
    this.send({
      type: "appendResp",
      to: m.from,
      reject: true,
      index: m.prevIndex,
      hintIndex: hint.index,
      hintTerm: hint.term,
    });
  }

  private handleSnapshot(snapshot: Snapshot, from: NodeId): void {
    const log = this.raftLog;
    const meta = snapshot.meta;
    if (meta.index <= log.committed) {
      this.send({
        type: "appendResp",
        to: from,
        reject: false,
        index: log.committed,
        hintIndex: 0,
        hintTerm: 0,
      });
      return;
    }
    if (log.matchTerm(meta.index, meta.term)) {
      // We already hold that entry: the snapshot only tells us it is committed.
      log.commitTo(meta.index);
    } else {
      log.restore(snapshot);
    }
    this.send({
      type: "appendResp",
      to: from,
      reject: false,
      index: log.committed,
      hintIndex: 0,
      hintTerm: 0,
    });
  }

  private maybeCommit(): void {
    const replication = this.replication as Replication;
    const index = replication.quorumMatch(this.raftLog.config().voters);
    if (index <= this.raftLog.committed || !this.isCommittable(index)) return;
    this.raftLog.commitTo(index);
    replication.broadcastDue = true;
    this.afterCommit();
  }

  private afterCommit(): void {
    if (
      this.raftLog.term(this.raftLog.committed) === this.currentTerm &&
      this.readsAwaitingCommit.length > 0
    ) {
      const reads = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const read of reads) this.handleReadRequest(read);
    }
    // A leader removed from the group leads until its removal commits, then steps aside and
    // asks the most up-to-date voter to campaign at once rather than after a timeout.
    const replication = this.replication as Replication;
    if (!this.isPromotable() && this.raftLog.lastConfIndex() <= this.raftLog.committed) {
      replication.broadcast(true);
      const successor = replication.mostCaughtUp(this.raftLog.config().voters);
      if (successor && successor.match === this.raftLog.lastIndex()) this.sendTimeoutNow(successor.member);
      this.becomeFollower(this.currentTerm, 0);
    }
  }

  private handleReadRequest(read: PendingRead): void {
    if (this.raftLog.term(this.raftLog.committed) !== this.currentTerm) {
      // Until an entry of this term commits, our commit index may lag the true one.
      this.readsAwaitingCommit.push(read);
      return;
    }
    this.beginReadRound({ ...read, index: this.raftLog.committed });
  }

  private appendAsLeader(entry: Entry): void {
    const replication = this.replication as Replication;
    this.raftLog.append(entry);
    if (entry.type === "confChange") {
      replication.syncWithConfig(entry.config);
      if (this.leadTransferee !== 0 && !entry.config.voters.includes(this.leadTransferee))
        this.leadTransferee = 0;
    }
    // A lone voter commits by itself once the entry is durable (see advance).
    replication.broadcastDue = true;
  }

  // --- plumbing ------------------------------------------------------------------------------

  private refuseProposal(): ProposeResult | undefined {
    if (this.currentRole !== "leader") return { ok: false, reason: "notLeader", leader: this.lead };
    if (this.leadTransferee !== 0) return { ok: false, reason: "transferring", leader: this.leadTransferee };
    return undefined;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseForfeited = true;
    this.send({ type: "timeoutNow", to });
  }

  private send(m: Outgoing): void {
    this.msgs.push({ ...m, from: this.id, term: this.currentTerm } as Message);
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.raftLog.committed };
  }

  private softState(): SoftState {
    return { role: this.currentRole, leader: this.lead };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
