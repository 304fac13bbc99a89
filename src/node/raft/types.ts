/**
 * Plain data that flows in and out of the Raft core. Everything here is serialisable as-is
 * (numbers, strings, Uint8Array, arrays), so the transport can encode it with protobuf and the
 * simulator can inspect and copy it.
 */

import type { NodeId } from "../ids.js";

export type { NodeId };

/** The members of a group. Voters elect and form quorums; learners only receive the log. */
export interface Config {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One voter or learner change at a time (Raft dissertation 4.1); promotion = addVoter of a learner. */
export type ConfChange =
  | { readonly type: "addLearner"; readonly node: NodeId }
  | { readonly type: "addVoter"; readonly node: NodeId }
  | { readonly type: "removeNode"; readonly node: NodeId };

/**
 * A log entry. A conf-change entry carries the whole configuration that results from it, so a
 * member's configuration is simply that of the last conf-change entry in its log (it takes
 * effect when appended, as in the Raft dissertation), or that of its snapshot.
 * A normal entry with empty data is the no-op a new leader appends to commit in its term.
 */
export type Entry =
  | { readonly type: "normal"; readonly term: number; readonly index: number; readonly data: Uint8Array }
  | {
      readonly type: "confChange";
      readonly term: number;
      readonly index: number;
      readonly change: ConfChange;
      readonly config: Config;
    };

/** What must be durable before a member may answer a vote or acknowledge entries. */
export interface HardState {
  readonly term: number;
  /** Voted for in `term`; 0 when it has not voted. */
  readonly vote: NodeId | 0;
  readonly commit: number;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly config: Config;
}

/** A state-machine image at `meta.index`; `data` is opaque to the core. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export type Message =
  /** Pre-vote and vote requests; `term` of a pre-vote is the term the sender would campaign in. */
  | (Envelope & {
      readonly type: "preVote" | "vote";
      readonly lastLogIndex: number;
      readonly lastLogTerm: number;
      /** Set when the campaign follows a leader transfer: voters skip the leader-lease check. */
      readonly transfer: boolean;
    })
  | (Envelope & { readonly type: "preVoteResp" | "voteResp"; readonly reject: boolean })
  | (Envelope & {
      readonly type: "append";
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (Envelope & {
      readonly type: "appendResp";
      readonly reject: boolean;
      /** Accepted: the last index now matching the leader. Rejected: the prevIndex refused. */
      readonly index: number;
      /** Rejected: a hint for fast backtracking, the follower's last entry at or below the
       * probe whose term is <= hintTerm (etcd's findConflictByTerm). */
      readonly hintIndex: number;
      readonly hintTerm: number;
    })
  | (Envelope & {
      readonly type: "heartbeat";
      readonly commit: number;
      /**
       * Sequence of this heartbeat's round, echoed in the answer: a quorum of answers confirms
       * the ReadIndex reads recorded before the round and renews the leader lease
       * (heartbeat-rounds.ts). The name is the wire's, from when only reads used it.
       */
      readonly readSeq: number;
    })
  | (Envelope & { readonly type: "heartbeatResp"; readonly readSeq: number })
  | (Envelope & { readonly type: "snapshot"; readonly snapshot: Snapshot })
  | (Envelope & { readonly type: "timeoutNow" })
  /** A follower forwards a ReadIndex request to its leader, which answers with the index. */
  | (Envelope & { readonly type: "readIndex"; readonly context: string })
  | (Envelope & {
      readonly type: "readIndexResp";
      readonly context: string;
      /** 0 when the leader refused (it is stepping down or transferring). */
      readonly index: number;
    });

export type MessageType = Message["type"];

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Linearizable read: once the applied index reaches `index`, reading local state is safe. */
export interface ReadState {
  readonly context: string;
  readonly index: number;
}

/** Volatile state that the host may show or use for routing; never persisted. */
export interface SoftState {
  readonly role: Role;
  /** 0 while no leader is known. */
  readonly leader: NodeId | 0;
}

/**
 * What the host must do next, in this order:
 * 1. persist `snapshot`, `entries` (they replace the stored log from `entries[0].index` on) and
 *    `hardState`, durably; a hard state whose term and vote are unchanged (only the commit
 *    index moved) need not be written at all: the commit index is volatile, and a restart may
 *    take the applied index as its commit index;
 * 2. send `messages` (they may depend on step 1, so never before it), except those for which
 *    `sendableBeforePersist` holds, which may leave before step 1;
 * 3. apply `snapshot` then `committedEntries` to the state machine and serve `readStates` once
 *    applied has reached their index;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState;
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/**
 * A leader's appends and heartbeats depend on nothing the ready persists: its term was made
 * durable when it stood for election, and it counts its own log toward a quorum only once
 * `advance` reports it persisted. So they may leave before the leader's own write and its fsync
 * overlaps its followers' (Raft thesis 10.2.1). Everything else (votes, acknowledgements,
 * responses) promises state that must be durable first.
 */
export function sendableBeforePersist(message: Message): boolean {
  return message.type === "append" || message.type === "heartbeat";
}

/** Why the core refused a request: the host turns these into errors a person can act on. */
export type Refusal =
  | { readonly reason: "notLeader"; readonly leader: NodeId | 0 }
  | { readonly reason: "transferring"; readonly leader: NodeId }
  | { readonly reason: "confChangePending" }
  | { readonly reason: "invalidConfChange"; readonly detail: string }
  | { readonly reason: "notVoter" };

export type ProposeResult =
  /** Acknowledged once an entry with this index AND term is applied; another term there = lost. */
  { readonly ok: true; readonly index: number; readonly term: number } | ({ readonly ok: false } & Refusal);

export type RequestResult = { readonly ok: true } | ({ readonly ok: false } & Refusal);

/** An integer in [0, n); seeded by the host so that a run can be replayed exactly. */
export type RandomSource = (n: number) => number;

export interface RaftOptions {
  readonly id: NodeId;
  /** Ticks without a leader before a follower campaigns; randomized in [electionTicks, 2x). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly random: RandomSource;
  /** At most this many append messages in flight to one follower in the replicate state. */
  readonly maxInflight?: number;
  /** At most this many entries in one append message. */
  readonly maxEntriesPerAppend?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
}

/** Durable state a member restarts from (empty for a brand new member). */
export interface RestartState {
  readonly hardState: HardState;
  /** The last snapshot (sent to followers behind the compacted log). For a new group: index 0,
   * term 0, the initial configuration and empty data. */
  readonly snapshot: Snapshot;
  /** The stored log after the snapshot, contiguous from snapshot.index + 1. */
  readonly entries: readonly Entry[];
  /** The applied index that survived in the state machine (>= snapshot.index). */
  readonly applied: number;
}
