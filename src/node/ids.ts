/**
 * Identifiers shared by the node's layers. Branded so that a node id can never be passed where
 * a partition id (or a plain count) is expected.
 */

/** A node of the cluster; in a Raft group it is also the id of that node's member. */
export type NodeId = number & { readonly __brand: "NodeId" };
export const nodeId = (n: number): NodeId => n as NodeId;

/** A fixed slice of the key space; each partition is one Raft group. */
export type PartitionId = number & { readonly __brand: "PartitionId" };
export const partitionId = (n: number): PartitionId => n as PartitionId;
