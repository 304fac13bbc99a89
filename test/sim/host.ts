/**
 * A simulated host for one member: it drives a RaftNode exactly as the Ready contract says
 * (send what may leave early, persist, send the rest, then apply and serve reads, then advance), keeps its "disk", compacts
 * now and then, and crashes (losing everything but the disk) and restarts on demand.
 *
 * It is also where observations come from: after every call into the core it looks at role,
 * term and commit index and reports changes to the checker, and it reports every stored entry,
 * applied entry, acknowledged write and served read.
 */
import type { RaftNode } from "../../src/node/raft/raft.js";
import type {
  ConfChange,
  Entry,
  Message,
  NodeId,
  ProposeResult,
  RaftOptions,
  ReadState,
  Ready,
  RequestResult,
  RestartState,
  Role,
} from "../../src/node/raft/types.js";
import { sendableBeforePersist } from "../../src/node/raft/types.js";
import { type Checker, PropertyViolation } from "./checker.js";
import type { HostClock } from "./clock.js";
import type { Disk } from "./disk.js";
import { memberRandomSource, type Random } from "./random.js";
import { TICK } from "./scenario.js";
import { encodePayload, StateMachine } from "./state-machine.js";
import type { Stats } from "./stats.js";
import type { Trace } from "./trace.js";
import { describeEntry } from "./trace.js";

/** Builds the member under test; the broken variants plug in here. */
export type MemberFactory = (options: RaftOptions, state: RestartState) => RaftNode;

/** Core options shared by all members of a run (id and random are per member). */
export type CoreOptions = Omit<RaftOptions, "id" | "random">;

/** What a host needs from the simulation around it. */
export interface HostEnv {
  readonly seed: number;
  readonly checker: Checker;
  readonly trace: Trace;
  readonly random: Random;
  readonly stats: Stats;
  readonly factory: MemberFactory;
  readonly core: CoreOptions;
  /** Compact once this many entries are applied beyond the snapshot. */
  readonly compactEvery: number;
  /** Chance that persisting a ready takes a while, during which the core keeps stepping. */
  readonly asyncPersistChance: number;
  /** Per tick that falls due, chance that the host is too busy to deliver it for a while. */
  readonly busyChance: number;
  now(): number;
  send(message: Message): void;
  leaderElected(host: SimHost): void;
  leaderCommitted(host: SimHost): void;
  confApplied(host: SimHost, entry: Entry): void;
  /** A paused host resumes, before it handles anything: a client may ask it at once. */
  resumed(host: SimHost): void;
}

export class SimHost {
  private node: RaftNode | undefined;
  private sm: StateMachine;
  private incarnation = 0;
  private role: Role = "follower";
  private term = 0;
  private commit = 0;
  /**
   * Accepted proposals by index, until an entry is committed (those answered at commit, as the
   * store answers puts) or applied there.
   */
  private readonly proposals = new Map<number, { term: number; payload: string; atCommit: boolean }>();
  /** Reads accepted by the core whose read state has not come back yet. */
  private readonly reads = new Set<string>();
  /** Read states waiting for the applied index to reach theirs. */
  private waiting: ReadState[] = [];
  /** A ready being persisted asynchronously, finished at `at`. */
  private persisting: { ready: Ready; at: number } | undefined;
  /**
   * Set by the fault injector during one call into the core: the host crashes after persisting
   * the next ready that holds entries and before sending its messages (so the entries are on
   * this member's disk and nowhere else).
   */
  crashBeforeSend = false;
  /** Ticks delivered to the current core; its clock owes the difference to `clock.due`. */
  private ticked = 0;
  /** The process is too busy to deliver ticks until then (its event loop is blocked). */
  private busyUntil = 0;
  /** The process is stopped (SIGSTOP) until then: messages queue up, nothing ticks. */
  private pausedUntil = -1;
  private inbox: Message[] = [];

  constructor(
    readonly id: NodeId,
    readonly disk: Disk,
    private readonly env: HostEnv,
    readonly clock: HostClock,
  ) {
    this.sm = StateMachine.restore(disk.snapshot.data);
  }

  get alive(): boolean {
    return this.node !== undefined;
  }

  get paused(): boolean {
    return this.pausedUntil >= 0;
  }

  /**
   * Stops the process until `until` (as `tinyo pause` does): it neither ticks nor handles
   * messages. On a paused host it moves the end of the pause.
   */
  pause(until: number): void {
    if (!this.node) return;
    this.pausedUntil = until;
    this.note(`pause n${this.id} until ${until}`);
  }

  /** The live core, for the workload's and the liveness check's introspection. */
  get raft(): RaftNode | undefined {
    return this.node;
  }

  get stateMachine(): StateMachine {
    return this.sm;
  }

  /** Starts (or restarts) the member from its disk; the state machine is the snapshot image. */
  start(): void {
    const state = this.disk.restartState();
    this.sm = StateMachine.restore(state.snapshot.data);
    this.incarnation++;
    const random = memberRandomSource(this.env.seed, this.id, this.incarnation);
    const node = this.env.factory({ ...this.env.core, id: this.id, random }, state);
    this.node = node;
    this.proposals.clear();
    this.reads.clear();
    this.waiting = [];
    this.persisting = undefined;
    this.ticked = this.clock.due(this.env.now());
    this.env.checker.stateRestored(this.id, state.applied, this.sm);
    this.role = node.role;
    this.term = node.term;
    this.commit = node.commitIndex;
    this.note(
      `${this.incarnation === 1 ? "start" : "restart"} n${this.id} term=${node.term} vote=${node.vote} ` +
        `commit=${node.commitIndex} log=[${node.firstIndex - 1}|${node.lastIndex}]`,
    );
    this.drain();
  }

  /** Everything not on the disk is lost: the core, the state machine, the clients' pending requests. */
  crash(): void {
    if (!this.node) return;
    this.disk.loseUnwritten();
    if (this.role === "leader") this.env.checker.leaderGone(this.id);
    this.node = undefined;
    this.pausedUntil = -1;
    this.inbox = [];
    this.persisting = undefined;
    this.proposals.clear();
    for (const context of this.reads) this.env.checker.readAbandoned(context);
    for (const rs of this.waiting) this.env.checker.readAbandoned(rs.context);
    this.reads.clear();
    this.waiting = [];
    this.env.stats.crashes++;
    this.note(`crash n${this.id}`);
  }

  // --- inputs (each is followed by observing the core and handling its ready) ----------------

  /**
   * One time unit of the host's clock: delivers the ticks it owes, as the node's store does from
   * a monotonic clock on its timer, unless the process is busy (then they pile up until the
   * timer runs, a message arrives or a lease read is decided) or paused; resumes a pause that
   * is over.
   */
  clockStep(now: number): void {
    if (!this.node) return;
    if (this.paused) {
      if (now < this.pausedUntil) return;
      this.resume();
      if (!this.node) return;
    }
    const due = this.clock.due(now);
    if (due === this.ticked || now < this.busyUntil) return;
    if (this.env.random.chance(this.env.busyChance)) {
      this.busyUntil = now + this.env.random.between(1, 3 * TICK);
      return;
    }
    this.catchUp();
  }

  /** As the store does: the ticks owed before a leader's message, so that a follower stamps contact on time. */
  deliver(message: Message): void {
    if (this.paused) {
      this.inbox.push(message);
      return;
    }
    if (message.type === "append" || message.type === "heartbeat" || message.type === "snapshot")
      this.catchUp();
    this.input((node) => node.step(message));
  }

  /** Delivers every tick the clock owes: before a message, a lease check, and when the host is free. */
  private catchUp(): void {
    const due = this.clock.due(this.env.now());
    while (this.node && this.ticked < due) {
      this.ticked++;
      this.input((node) => node.tick());
    }
  }

  /** Back from a pause: a client may ask at once; then the queued messages (each after the owed ticks). */
  private resume(): void {
    this.pausedUntil = -1;
    this.note(`resume n${this.id}`);
    this.env.resumed(this);
    const inbox = this.inbox;
    this.inbox = [];
    for (const m of inbox) this.deliver(m);
  }

  propose(payload: string): ProposeResult | undefined {
    const result = this.input((node) => node.propose(encodePayload(payload)));
    // The host may have crashed before sending (a fault): then no client hears back.
    // Half the proposals are answered at commit, half once applied (no random draw: the seeds'
    // histories stay as they were).
    if (result?.ok && this.node) {
      this.proposals.set(result.index, { term: result.term, payload, atCommit: result.index % 2 === 0 });
    }
    if (result) this.note(`propose ${payload} at n${this.id}: ${describeResult(result)}`);
    return result;
  }

  proposeConfChange(change: ConfChange): ProposeResult | undefined {
    const result = this.input((node) => node.proposeConfChange(change));
    if (result) this.note(`conf ${change.type} n${change.node} at n${this.id}: ${describeResult(result)}`);
    return result;
  }

  readIndex(context: string): RequestResult | undefined {
    const result = this.input((node) => {
      // Registered before the call: a lone leader may release the read inside it.
      this.env.checker.readRequested(this.id, context);
      return node.readIndex(context);
    });
    if (result?.ok) this.reads.add(context);
    else this.env.checker.readAbandoned(context);
    if (result) this.note(`read ${context} at n${this.id}: ${describeResult(result)}`);
    return result;
  }

  /**
   * A LEASE read, as the node's store serves one: the owed ticks first (a leader back from a
   * pause must see its lease expired), then at the commit index from the leader's lease, or
   * else a ReadIndex round.
   */
  leaseRead(context: string): RequestResult | undefined {
    if (!this.node || this.paused) return undefined;
    this.catchUp();
    const index = this.node?.leaseRead();
    if (index === undefined) return this.readIndex(context);
    this.env.checker.readRequested(this.id, context);
    this.env.stats.leaseReads++;
    this.note(`lease read ${context} at n${this.id}: index ${index}`);
    this.waiting.push({ context, index });
    this.serveReads();
    return { ok: true };
  }

  transferLeader(target: NodeId): RequestResult | undefined {
    const result = this.input((node) => node.transferLeader(target));
    if (result) this.note(`transfer n${this.id}->n${target}: ${describeResult(result)}`);
    return result;
  }

  /** Finishes an asynchronous persist that is due, then handles whatever is ready. */
  poll(now: number): void {
    if (this.persisting && this.persisting.at <= now) {
      const { ready } = this.persisting;
      this.persisting = undefined;
      this.handleReady(ready);
      this.drain();
    }
  }

  private input<T>(call: (node: RaftNode) => T): T | undefined {
    const node = this.node;
    if (!node) return undefined;
    try {
      const result = call(node);
      this.observe();
      this.drain();
      return result;
    } finally {
      this.crashBeforeSend = false;
    }
  }

  // --- the ready loop --------------------------------------------------------------------------

  private drain(): void {
    const node = this.node;
    while (node && this.node === node && !this.persisting && node.hasReady()) {
      const ready = node.ready();
      // As the node's store does: what waits only for the commit is answered as the ready is taken.
      for (const entry of ready.committedEntries) this.settle(entry, true);
      // As the node's store does: a leader's appends and heartbeats leave before it persists.
      this.sendMessages(ready, sendableBeforePersist);
      if (this.env.random.chance(this.env.asyncPersistChance)) {
        this.persisting = { ready, at: this.env.now() + this.env.random.between(1, 8) };
        return;
      }
      this.handleReady(ready);
    }
  }

  private handleReady(ready: Ready): void {
    const node = this.node;
    if (!node) return;
    // 1. Persist: snapshot, entries (replacing the stored log from the first one), hard state.
    if (ready.snapshot) this.disk.installSnapshot(ready.snapshot);
    const first = ready.entries[0];
    if (first) {
      this.disk.writeEntries(ready.entries);
      this.env.checker.entriesStored(this.id, ready.entries, this.disk.termAt(first.index - 1) ?? 0);
    }
    if (ready.hardState) this.disk.writeHardState(ready.hardState, first !== undefined || !!ready.snapshot);
    if (this.crashBeforeSend && first) {
      const rest = ready.entries.length > 1 ? ` and ${ready.entries.length - 1} more` : "";
      this.note(`n${this.id} persisted ${describeEntry(first)}${rest}, crashes before sending`);
      this.crash();
      return;
    }
    // 2. Send the rest.
    this.sendMessages(ready, (m) => !sendableBeforePersist(m));
    // 3. Apply the snapshot, then the committed entries, then serve the reads that are due.
    if (ready.snapshot) {
      const { meta, data } = ready.snapshot;
      this.installSnapshot(meta.index, meta.term, data);
    }
    for (const entry of ready.committedEntries) this.apply(entry);
    for (const rs of ready.readStates) {
      if (this.reads.delete(rs.context)) this.waiting.push(rs);
    }
    this.serveReads();
    // Applying its own removal retires a member (it crashes for good): its core is gone.
    if (this.node !== node) return;
    // 4. Advance.
    node.advance(ready);
    this.observe();
    if (!this.persisting && !node.hasReady()) this.checkDurable(node);
    this.maybeCompact(node);
  }

  private sendMessages(ready: Ready, which: (m: Message) => boolean): void {
    for (const m of ready.messages) {
      if (!which(m)) continue;
      if (m.type === "snapshot") this.env.stats.snapshotsSent++;
      this.env.send(m);
    }
  }

  private installSnapshot(index: number, term: number, data: Uint8Array): void {
    this.sm = StateMachine.restore(data);
    this.env.checker.stateRestored(this.id, index, this.sm);
    // Proposals the snapshot covers have an unknown fate: their clients time out.
    for (const at of this.proposals.keys()) if (at <= index) this.proposals.delete(at);
    this.note(`n${this.id} installs snapshot at (${index},${term})`);
  }

  private apply(entry: Entry): void {
    this.env.checker.applied(this.id, entry);
    this.sm.apply(entry);
    this.settle(entry, false);
    if (entry.type === "confChange") {
      this.note(
        `n${this.id} applies ${describeEntry(entry)} -> voters=[${entry.config.voters}] learners=[${entry.config.learners}]`,
      );
      this.env.confApplied(this, entry);
    }
  }

  /** Answers the proposal at `entry`'s index if it waits for this stage (commit or apply). */
  private settle(entry: Entry, committing: boolean): void {
    const proposal = this.proposals.get(entry.index);
    if (!proposal) return;
    const stage = committing ? "commits" : "applied";
    if (proposal.term !== entry.term) {
      this.proposals.delete(entry.index);
      this.env.stats.lost++;
      this.note(`n${this.id} lost ${proposal.payload}: ${describeEntry(entry)} ${stage} at its index`);
    } else if (proposal.atCommit === committing) {
      this.proposals.delete(entry.index);
      this.env.checker.writeAcknowledged(this.id, proposal.payload, entry);
      this.env.stats.acknowledged++;
      this.note(`n${this.id} acknowledges ${proposal.payload} at ${entry.index}@${entry.term} (${stage})`);
    }
  }

  private serveReads(): void {
    if (this.waiting.length === 0) return;
    const applied = this.sm.appliedIndex;
    const still: ReadState[] = [];
    for (const rs of this.waiting) {
      if (rs.index <= applied) {
        this.note(`n${this.id} serves read ${rs.context} (read index ${rs.index}, applied ${applied})`);
        this.env.checker.readServed(this.id, rs.context, this.sm);
        this.env.stats.readsServed++;
      } else {
        still.push(rs);
      }
    }
    this.waiting = still;
  }

  private maybeCompact(node: RaftNode): void {
    const applied = this.sm.appliedIndex;
    if (this.persisting || applied - this.disk.snapshot.meta.index < this.env.compactEvery) return;
    const data = this.sm.serialize();
    // A snapshot from the leader that arrived while a ready was being persisted is newer than
    // our applied index and not yet handed out: the core then ignores the compaction, and so do we.
    if (!node.compact(applied, data)) return;
    this.disk.compact({ meta: node.snapshotMeta, data });
    this.env.stats.compactions++;
  }

  // --- observation -----------------------------------------------------------------------------

  /** Reports role, term and commit changes; called after every call into the core. */
  private observe(): void {
    const node = this.node;
    if (!node) return;
    const { role, term } = node;
    if (role !== this.role || term !== this.term) {
      if (this.role === "leader") this.env.checker.leaderGone(this.id);
      this.role = role;
      this.term = term;
      this.note(`n${this.id} ${role === "leader" ? "becomes leader" : role} term=${term}`);
      if (role === "leader") {
        this.env.stats.elections++;
        this.env.checker.leaderElected(this.id, term, node);
        this.env.leaderElected(this);
      } else if (role !== "follower" && !node.config.voters.includes(this.id)) {
        throw new PropertyViolation(
          "membership",
          `n${this.id} campaigns (${role}) but is not a voter of its configuration ` +
            `voters=[${node.config.voters}] learners=[${node.config.learners}]`,
        );
      }
    }
    const commit = node.commitIndex;
    if (commit !== this.commit) {
      if (commit < this.commit) {
        throw new PropertyViolation(
          "state machine safety",
          `n${this.id}'s commit index went back from ${this.commit} to ${commit}`,
        );
      }
      this.env.checker.commitAdvanced(this.id, term, this.commit, commit, node);
      this.commit = commit;
      if (role === "leader") this.env.leaderCommitted(this);
    }
  }

  /** With nothing left to persist, the core's log and hard state must be what is on the disk. */
  private checkDurable(node: RaftNode): void {
    const hs = this.disk.hardState;
    const fail = (what: string): never => {
      throw new PropertyViolation("durability", `n${this.id}: ${what}`);
    };
    if (hs.term !== node.term || hs.vote !== node.vote || hs.commit !== node.commitIndex) {
      fail(
        `core has term=${node.term} vote=${node.vote} commit=${node.commitIndex}, ` +
          `disk has term=${hs.term} vote=${hs.vote} commit=${hs.commit}`,
      );
    }
    if (this.disk.firstIndex !== node.firstIndex || this.disk.lastIndex !== node.lastIndex) {
      fail(
        `core log is [${node.firstIndex}, ${node.lastIndex}], disk log is [${this.disk.firstIndex}, ${this.disk.lastIndex}]`,
      );
    }
    for (let i = node.firstIndex - 1; i <= node.lastIndex; i++) {
      if (this.disk.termAt(i) !== node.termAt(i))
        fail(`term at ${i}: core ${node.termAt(i)}, disk ${this.disk.termAt(i)}`);
    }
  }

  private note(text: string): void {
    this.env.trace.note(this.env.now(), text);
  }
}

function describeResult(result: ProposeResult | RequestResult): string {
  if (result.ok) return "index" in result ? `ok ${result.index}@${result.term}` : "ok";
  return "leader" in result && result.leader !== 0
    ? `${result.reason} (leader n${result.leader})`
    : result.reason;
}
