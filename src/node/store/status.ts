/** What the store reports about itself and its groups (Admin status, tests). */

import type { NodeId, PartitionId } from "../ids.js";
import type { Group } from "./group.js";

/** Totals since the node started. */
export interface StoreStats {
  readonly compactions: number;
  readonly snapshotsSent: number;
  readonly snapshotsSendFailed: number;
  readonly snapshotsInstalled: number;
  /** Snapshots received and not installed: the log already reached them, or they were stale. */
  readonly snapshotsSkipped: number;
}

export interface GroupStatus {
  readonly partition: PartitionId;
  readonly role: string;
  readonly term: number;
  readonly leader: NodeId | 0;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** The first index still in the log: entries before it were compacted (or came by snapshot). */
  readonly firstIndex: number;
  readonly snapshotsInstalled: number;
  readonly snapshotsSent: number;
  /** New leaders this member learned of since the node started. */
  readonly leaderChanges: number;
}

export function groupStatusOf(group: Group): GroupStatus {
  const { partition, raft, counts } = group;
  return {
    partition,
    role: raft.role,
    term: raft.term,
    leader: raft.leader,
    commitIndex: raft.commitIndex,
    appliedIndex: group.appliedIndex,
    lastIndex: raft.lastIndex,
    voters: raft.config.voters,
    learners: raft.config.learners,
    firstIndex: raft.firstIndex,
    snapshotsInstalled: counts.snapshotsInstalled,
    snapshotsSent: counts.snapshotsSent,
    leaderChanges: counts.leaderChanges,
  };
}
