/**
 * The safety checker. The simulation reports what it observes (a member became leader, stored
 * entries, advanced its commit index, applied an entry, served a read...) as it happens, and
 * each report is checked at once against everything seen before, in time proportional to the
 * report, so that a violation surfaces at the event that caused it.
 *
 * It knows nothing of RaftNode: it sees logs through `LogView` and state machines through
 * `AppliedView`, so that its unit tests can feed it hand-made histories.
 */
import type { Entry, NodeId } from "../../src/node/raft/types.js";
import { fingerprint, isVisible, payloadOf } from "./state-machine.js";

export type Property =
  | "election safety"
  | "log matching"
  | "leader completeness"
  | "state machine safety"
  | "acknowledged writes"
  | "linearizable read"
  | "membership"
  | "liveness"
  /** The host persisted, or is told to apply, something the contract rules out. */
  | "ready contract"
  /** The core's log or hard state differs from what it asked the host to persist. */
  | "durability"
  /** An exception escaped the core (or the simulator). */
  | "exception";

export class PropertyViolation extends Error {
  override name = "PropertyViolation";
  constructor(
    readonly property: Property,
    readonly detail: string,
  ) {
    super(`${property}: ${detail}`);
  }
}

export interface LogView {
  readonly firstIndex: number;
  readonly lastIndex: number;
  termAt(index: number): number | undefined;
}

export interface AppliedView {
  readonly appliedIndex: number;
  fingerprintAt(index: number): string | undefined;
  indexOfPayload(payload: string): number | undefined;
  /** Visible entries (writes and conf changes) in index order. */
  contents(): Iterable<[number, string]>;
}

/** A member's durable log and configuration: what it would campaign with after a restart. */
export interface DurableLog extends LogView {
  readonly lastTerm: number;
  readonly config: { readonly voters: readonly NodeId[] };
}

interface Write {
  readonly payload: string;
  readonly index: number;
}

/** The vote rule of §5.4.1: would a voter with log `voter` grant a candidate with log `candidate`? */
function isAtLeastAsUpToDate(candidate: DurableLog, voter: DurableLog): boolean {
  return (
    candidate.lastTerm > voter.lastTerm ||
    (candidate.lastTerm === voter.lastTerm && candidate.lastIndex >= voter.lastIndex)
  );
}

/** Packs (index, term) into one number: terms stay far below 2^20, indexes below 2^33. */
const entryKey = (index: number, term: number): number => index * 1048576 + term;

export class Checker {
  /**
   * `electorate` lists the durable logs of every member that exists and may still vote (crashed
   * ones included: they come back with their disk). With it, each new commit is also checked
   * for a member that lacks it yet could win an election right now (see `checkElectable`).
   */
  constructor(private readonly electorate?: () => Iterable<[NodeId, DurableLog]>) {}

  /** term -> the member that led it. */
  private readonly leaders = new Map<number, NodeId>();
  /** Members that are leader right now, with their live logs. */
  private readonly activeLeaders = new Map<NodeId, { term: number; log: LogView }>();
  /** (index, term) -> what the first member to store it stored there, and the term before it. */
  private readonly stored = new Map<number, { fp: string; prevTerm: number; member: NodeId }>();
  /** index -> term of the committed entry (undefined where no observer could see it). */
  private readonly committedTerm: (number | undefined)[] = [];
  /** index -> the lowest term of a member seen holding it as committed: the entry was committed
   * by a leader of that term at the latest, so every leader of a later term must hold it. */
  private readonly committedBy: number[] = [];
  private commitMax = 0;
  /** index -> fingerprint of the entry applied there (by anyone). */
  private readonly appliedFp: (string | undefined)[] = [];
  /** Indexes of visible entries applied by anyone, increasing. */
  private readonly visibleIndexes: number[] = [];
  private readonly payloadIndex = new Map<string, number>();
  private readonly appliedUpTo = new Map<NodeId, number>();
  private readonly acked: Write[] = [];
  private ackedNewest: Write | undefined;
  /** Outstanding reads: what each must see (the acknowledged write of highest index at request time). */
  private readonly reads = new Map<string, { member: NodeId; mustSee: Write | undefined }>();

  get acknowledgedWrites(): readonly Write[] {
    return this.acked;
  }

  // --- elections -------------------------------------------------------------------------------

  leaderElected(member: NodeId, term: number, log: LogView): void {
    const previous = this.leaders.get(term);
    if (previous !== undefined && previous !== member) {
      throw new PropertyViolation(
        "election safety",
        `n${member} and n${previous} both became leader in term ${term}`,
      );
    }
    this.leaders.set(term, member);
    this.activeLeaders.set(member, { term, log });
    // Everything committed by a leader of an earlier term must be in this leader's log.
    for (let i = Math.max(1, log.firstIndex); i <= this.commitMax; i++) {
      const t = this.committedTerm[i];
      const by = this.committedBy[i];
      if (t === undefined || by === undefined || by >= term) continue;
      const has = log.termAt(i);
      if (has !== t) {
        throw new PropertyViolation(
          "leader completeness",
          `n${member} became leader of term ${term} with ${has === undefined ? "no entry" : `term ${has}`} at ` +
            `index ${i}, but ${i}@${t} was committed in term ${by}`,
        );
      }
    }
  }

  leaderGone(member: NodeId): void {
    this.activeLeaders.delete(member);
  }

  // --- logs ------------------------------------------------------------------------------------

  /** `member` made `entries` durable; `prevTerm` is the term of the entry before the first one. */
  entriesStored(member: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let before = prevTerm;
    for (const e of entries) {
      if (e.term < before) {
        throw new PropertyViolation(
          "log matching",
          `n${member} stored ${e.index}@${e.term} after term ${before}`,
        );
      }
      const key = entryKey(e.index, e.term);
      const fp = fingerprint(e);
      const seen = this.stored.get(key);
      if (seen === undefined) {
        this.stored.set(key, { fp, prevTerm: before, member });
      } else if (seen.fp !== fp) {
        throw new PropertyViolation(
          "log matching",
          `n${member} stored ${e.index}@${e.term} = "${fp}" but n${seen.member} stored "${seen.fp}" there`,
        );
      } else if (seen.prevTerm !== before) {
        // By induction on the index this makes logs that share an (index, term) identical below it.
        throw new PropertyViolation(
          "log matching",
          `n${member} holds term ${before} before ${e.index}@${e.term}, n${seen.member} held term ${seen.prevTerm}`,
        );
      }
      before = e.term;
    }
  }

  /** `member`, in `term`, advanced its commit index over (from, to] as its log shows. */
  commitAdvanced(member: NodeId, term: number, from: number, to: number, log: LogView): void {
    for (let i = from + 1; i <= to; i++) {
      const t = log.termAt(i);
      const known = this.committedTerm[i];
      if (known !== undefined && t !== undefined && known !== t) {
        throw new PropertyViolation(
          "state machine safety",
          `n${member} committed ${i}@${t}, but ${i}@${known} was committed before`,
        );
      }
      if (known === undefined) this.committedTerm[i] = t;
      const by = this.committedBy[i];
      if (by === undefined || term < by) this.committedBy[i] = term;
    }
    if (to > this.commitMax) {
      this.commitMax = to;
      this.checkElectable();
    }
    // Leaders elected before this commit must also hold it if their term is later.
    for (const [leader, { term: leaderTerm, log: leaderLog }] of this.activeLeaders) {
      for (let i = Math.max(from + 1, leaderLog.firstIndex); i <= to; i++) {
        const t = this.committedTerm[i];
        const by = this.committedBy[i];
        if (t === undefined || by === undefined || leaderTerm <= by) continue;
        const has = leaderLog.termAt(i);
        if (has !== t) {
          throw new PropertyViolation(
            "leader completeness",
            `${i}@${t} was committed in term ${by}, but n${leader}, leader of term ${leaderTerm}, ` +
              `has ${has === undefined ? "no entry" : `term ${has}`} there`,
          );
        }
      }
    }
  }

  /**
   * Leader completeness, one step ahead: a member whose durable log lacks the newest committed
   * entry must not be able to win an election, that is, a quorum of its configuration's voters
   * must hold logs more up to date than its own. Were it otherwise, crashing everyone (logs
   * revert to their disks) and letting that member campaign first would elect it, and the
   * committed entry would be overwritten. In correct Raft the majority that stored the entry
   * prevents this (§5.4.3); an unsound commit rule (Figure 8) is caught here at the commit
   * itself, without waiting for the unlucky election that would expose it.
   */
  private checkElectable(): void {
    if (!this.electorate) return;
    const index = this.commitMax;
    const term = this.committedTerm[index];
    if (term === undefined) return;
    const logs = new Map(this.electorate());
    for (const [id, log] of logs) {
      if (index < log.firstIndex || log.termAt(index) === term) continue;
      const voters = log.config.voters;
      if (!voters.includes(id)) continue;
      const granting = voters.filter((v) => {
        const other = logs.get(v);
        return other !== undefined && isAtLeastAsUpToDate(log, other);
      });
      if (granting.length >= Math.floor(voters.length / 2) + 1) {
        throw new PropertyViolation(
          "leader completeness",
          `${index}@${term} is committed, but n${id} (log ends ${log.lastIndex}@${log.lastTerm}) lacks it and could ` +
            `be elected by [${granting.map((v) => `n${v}`)}] of voters [${voters.map((v) => `n${v}`)}]`,
        );
      }
    }
  }

  // --- state machines --------------------------------------------------------------------------

  applied(member: NodeId, entry: Entry): void {
    const expected = (this.appliedUpTo.get(member) ?? 0) + 1;
    if (entry.index !== expected) {
      throw new PropertyViolation(
        "state machine safety",
        `n${member} applied index ${entry.index}, expected ${expected}`,
      );
    }
    this.appliedUpTo.set(member, entry.index);
    const committed = this.committedTerm[entry.index];
    if (committed !== undefined && committed !== entry.term) {
      throw new PropertyViolation(
        "state machine safety",
        `n${member} applied ${entry.index}@${entry.term}, but ${entry.index}@${committed} was committed`,
      );
    }
    const fp = fingerprint(entry);
    const known = this.appliedFp[entry.index];
    if (known === undefined) {
      this.appliedFp[entry.index] = fp;
      if (isVisible(entry)) this.visibleIndexes.push(entry.index);
    } else if (known !== fp) {
      throw new PropertyViolation(
        "state machine safety",
        `n${member} applied "${fp}" at index ${entry.index}, another member applied "${known}"`,
      );
    }
    if (entry.type === "normal" && entry.data.length > 0) {
      const payload = payloadOf(entry);
      const at = this.payloadIndex.get(payload);
      if (at === undefined) this.payloadIndex.set(payload, entry.index);
      else if (at !== entry.index) {
        throw new PropertyViolation(
          "state machine safety",
          `payload ${payload} applied at index ${at} and at ${entry.index}`,
        );
      }
    }
  }

  /** `member` replaced its state machine with a snapshot image (received, or at restart). */
  stateRestored(member: NodeId, index: number, state: AppliedView): void {
    if (state.appliedIndex !== index) {
      throw new PropertyViolation(
        "state machine safety",
        `n${member} restored a snapshot at index ${index} whose image is at index ${state.appliedIndex}`,
      );
    }
    this.appliedUpTo.set(member, index);
    // The image must hold exactly the visible entries applied up to its index, nothing else.
    let k = 0;
    for (const [i, fp] of state.contents()) {
      const expectedIndex = this.visibleIndexes[k];
      if (expectedIndex !== i || this.appliedFp[i] !== fp) {
        throw new PropertyViolation(
          "state machine safety",
          `n${member} restored a snapshot at ${index} holding "${fp}" at ${i}, but index ` +
            `${expectedIndex ?? "(none)"} holds "${expectedIndex === undefined ? "" : this.appliedFp[expectedIndex]}"`,
        );
      }
      k++;
    }
    const missing = this.visibleIndexes[k];
    if (missing !== undefined && missing <= index) {
      throw new PropertyViolation(
        "state machine safety",
        `n${member} restored a snapshot at ${index} that lacks "${this.appliedFp[missing]}" at ${missing}`,
      );
    }
  }

  // --- clients ---------------------------------------------------------------------------------

  /** The member that accepted a proposal applied an entry with the index and term it returned. */
  writeAcknowledged(member: NodeId, proposed: string, entry: Entry): void {
    const payload = payloadOf(entry);
    if (entry.type !== "normal" || payload !== proposed) {
      throw new PropertyViolation(
        "acknowledged writes",
        `n${member} accepted ${proposed} at ${entry.index}@${entry.term} but applied "${fingerprint(entry)}" there`,
      );
    }
    const write = { payload, index: entry.index };
    this.acked.push(write);
    if (this.ackedNewest === undefined || write.index > this.ackedNewest.index) this.ackedNewest = write;
  }

  readRequested(member: NodeId, context: string): void {
    this.reads.set(context, { member, mustSee: this.ackedNewest });
  }

  /** A read is served once the member's applied index reached its read index. */
  readServed(member: NodeId, context: string, state: AppliedView): void {
    const read = this.reads.get(context);
    if (read === undefined) return;
    this.reads.delete(context);
    const write = read.mustSee;
    // State machine safety is checked on every apply, so holding the newest acknowledged write
    // at its index means holding every write acknowledged before it.
    if (write !== undefined && state.indexOfPayload(write.payload) !== write.index) {
      throw new PropertyViolation(
        "linearizable read",
        `read ${context} served by n${member} at applied index ${state.appliedIndex} misses ${write.payload} ` +
          `(index ${write.index}), acknowledged before the read was requested`,
      );
    }
  }

  readAbandoned(context: string): void {
    this.reads.delete(context);
  }

  /** At the end of a run: every acknowledged write is applied on each given member. */
  allWritesApplied(members: readonly { id: NodeId; state: AppliedView }[]): void {
    const missing = this.missingWrite(members);
    if (missing !== undefined) throw new PropertyViolation("acknowledged writes", missing);
  }

  /** The first acknowledged write one of `members` does not hold at its index, described. */
  missingWrite(members: readonly { id: NodeId; state: AppliedView }[]): string | undefined {
    for (const { id, state } of members) {
      for (const write of this.acked) {
        if (state.indexOfPayload(write.payload) !== write.index) {
          return (
            `${write.payload} was acknowledged at index ${write.index} but n${id} (applied ${state.appliedIndex}) ` +
            "does not hold it there"
          );
        }
      }
    }
    return undefined;
  }
}
