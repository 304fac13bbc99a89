/**
 * The configuration each Raft group this cluster runs should have, given the placement of the
 * current members: a data partition's voters are its preference list; the metadata group (the
 * member list itself, partition id Q, one past the data partitions) has up to five voters, the
 * lowest member ids, and every other member as a learner, so that every node holds and applies
 * the member list while elections and commits involve only a few nodes.
 */
import type { NodeId, PartitionId } from "../ids.js";
import type { Config } from "../raft/types.js";
import type { Placement } from "../ring/placement.js";

/** The metadata group's partition id for a cluster of `partitions` data partitions. */
export const metadataPartition = (partitions: number): PartitionId => partitions as PartitionId;

/** Voters of the metadata group: 5 from 5 members on, 3 from 3, else all (1 or 2). */
export function metadataConfig(members: readonly NodeId[]): Config {
  const sorted = [...members].sort((a, b) => a - b);
  const voters = sorted.length >= 5 ? 5 : sorted.length >= 3 ? 3 : sorted.length;
  return { voters: sorted.slice(0, voters), learners: sorted.slice(voters) };
}

/** The target configuration of `partition` (a data partition or the metadata group). */
export function targetConfig(placement: Placement, partition: PartitionId): Config | undefined {
  if (partition === metadataPartition(placement.partitions)) return metadataConfig(placement.members);
  if (partition < 0 || partition >= placement.partitions) return undefined;
  return { voters: placement.preferenceList(partition), learners: [] };
}

/** Whether `node` should hold a replica of `partition` (voter or learner) under `placement`. */
export function isTargetReplica(placement: Placement, partition: PartitionId, node: NodeId): boolean {
  const target = targetConfig(placement, partition);
  return target !== undefined && (target.voters.includes(node) || target.learners.includes(node));
}

/** Every group `node` should hold under `placement`: its data partitions and the metadata group. */
export function targetGroupsOf(placement: Placement, node: NodeId): PartitionId[] {
  if (!placement.members.includes(node)) return [];
  return [...placement.partitionsOf(node), metadataPartition(placement.partitions)];
}
