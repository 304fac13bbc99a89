import type { PartitionId } from "../ids.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { PartitionSnapshot } from "../storage/state-machine.js";

/** What the store needs of the state machine (RocksDB, in src/node/storage). */
export interface ReplicatedStateMachine {
  appliedIndex(partition: PartitionId): number | Promise<number>;
  /** Applies a ready cycle's committed entries, at most one batch per partition, together. */
  applyBatch(
    batches: readonly {
      readonly partition: PartitionId;
      readonly entries: readonly { index: number; data: Uint8Array }[];
    }[],
  ): Promise<unknown>;
  /** Makes everything applied durable; each partition's applied index as of the call. */
  flush(): Promise<ReadonlyMap<PartitionId, number>>;
  /** The partition's state at its applied index, to stream to a follower. */
  snapshot(partition: PartitionId): Promise<PartitionSnapshot>;
  /** Replaces the partition with a snapshot (durable on return), keeping `raftMeta` beside it. */
  installSnapshot(
    partition: PartitionId,
    appliedIndex: number,
    chunks: AsyncIterable<Uint8Array>,
    raftMeta: SnapshotMeta,
  ): Promise<void>;
  /** The Raft meta of the last install while no apply followed it (crash recovery). */
  installedSnapshotMeta(partition: PartitionId): Promise<SnapshotMeta | undefined>;
  /** Deletes the partition's keys and applied index (its replica moved away). */
  deletePartition(partition: PartitionId): Promise<void>;
}
