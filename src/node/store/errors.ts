import type { NodeId, PartitionId } from "../ids.js";

/** This node does not lead the partition; `leader` is who does, when known (0 otherwise). */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
  constructor(
    readonly partition: PartitionId,
    readonly leader: NodeId | 0,
    reason = "this node is not its leader",
  ) {
    super(
      leader === 0
        ? `partition ${partition} has no known leader right now (${reason}); retry shortly`
        : `partition ${partition} is led by node ${leader} (${reason})`,
    );
  }
}

/** A proposal was accepted by a leader that lost its leadership before the entry committed. */
export class ProposalDroppedError extends Error {
  override name = "ProposalDroppedError";
  constructor(readonly partition: PartitionId) {
    super(`the write to partition ${partition} was dropped by a change of leader; it did not take effect`);
  }
}

/** The partition is not replicated on this node. */
export class NotReplicaError extends Error {
  override name = "NotReplicaError";
  constructor(readonly partition: PartitionId) {
    super(`partition ${partition} has no replica on this node`);
  }
}

/** The store is shutting down or failed; nothing more will be served. */
export class StoreClosedError extends Error {
  override name = "StoreClosedError";
  constructor(reason: string) {
    super(`the node is not serving: ${reason}`);
  }
}

/**
 * A proposal's entry was replaced by a snapshot from the leader before this node applied it:
 * the write may or may not have taken effect. Retrying with the same request id is safe.
 */
export class ProposalOutcomeUnknownError extends Error {
  override name = "ProposalOutcomeUnknownError";
  constructor(readonly partition: PartitionId) {
    super(
      `the write to partition ${partition} was overtaken by a snapshot from the leader: it may or may not ` +
        "have taken effect; retry it with the same request id",
    );
  }
}

/** A snapshot arrived for a partition that is still installing the previous one. */
export class SnapshotBusyError extends Error {
  override name = "SnapshotBusyError";
  constructor(readonly partition: PartitionId) {
    super(`partition ${partition} is already installing a snapshot`);
  }
}

/** The store cannot start from what is stored; the message says what and what to do. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}
