/**
 * Installing a snapshot into a partition: its key range is replaced by the snapshot's records
 * and its applied index set.
 *
 * Atomicity. A snapshot of up to ATOMIC_INSTALL_BYTES is installed by ONE batch (deleteRange of
 * the partition, the records, the applied index): a crash leaves either the old partition or the
 * new one. A larger snapshot does not fit one batch, so it is written in several, in order:
 *   1. an install marker (outside the partition's range) + deleteRange + the first records;
 *   2. more records;
 *   3. the last records + the applied index (and the Raft meta, if given) + removal of the marker.
 * RocksDB recovers a prefix of the batches written (its WAL replays in order and stops at the
 * first damaged record), so after a crash either all of step 3 survived, or the marker is there
 * and the applied index is absent. At open, a partition with a marker is wiped entirely (its
 * partial records include dedup records, which must not outlive the data they guard): the
 * partition is empty at applied index 0, and the caller fetches a snapshot again (or replays
 * its log from the start if it still has it). Readers of the partition during a large install
 * see it partly installed: the caller serves no reads from a partition being installed.
 */

import type { PartitionId } from "../ids.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { WriteOp } from "./state-machine-apply.js";
import {
  appliedIndexKey,
  appliedIndexValue,
  installingKey,
  partitionKey,
  partitionRange,
  Tag,
} from "./state-machine-keys.js";
import { parseSnapshotChunk } from "./state-machine-snapshot.js";

/** The largest snapshot installed by one batch; larger ones use the marker protocol above. */
export const ATOMIC_INSTALL_BYTES = 32 * 1024 * 1024;

export interface InstallHooks {
  /** Writes one batch (its operations in order). */
  readonly write: (ops: readonly WriteOp[]) => Promise<void>;
  /** Called when the first batch of a multi-batch install is written: the old partition is gone. */
  readonly onRangeDeleted: () => void;
}

export async function installPartition(
  partition: PartitionId,
  appliedIndex: number,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  hooks: InstallHooks,
  raftMeta?: SnapshotMeta,
): Promise<void> {
  const range = partitionRange(partition);
  const marker = installingKey(partition);
  let ops: WriteOp[] = [];
  let bytes = 0;
  let started = false;
  try {
    for await (const chunk of chunks) {
      for (const record of parseSnapshotChunk(chunk)) {
        const key = partitionKey(partition, record.key[0] ?? Tag.data, record.key.subarray(1));
        ops.push({ op: "put", key, value: record.value });
        bytes += key.length + record.value.length;
      }
      if (bytes >= ATOMIC_INSTALL_BYTES) {
        const head: WriteOp[] = started
          ? []
          : [
              { op: "put", key: marker, value: new Uint8Array(0) },
              { op: "deleteRange", start: range.gte, end: range.lt },
            ];
        await hooks.write([...head, ...ops]);
        if (!started) hooks.onRangeDeleted();
        started = true;
        ops = [];
        bytes = 0;
      }
    }
  } catch (error) {
    if (started) {
      // The old partition is gone: leave it empty (applied index 0) rather than half installed.
      await hooks.write([
        { op: "deleteRange", start: range.gte, end: range.lt },
        { op: "delete", key: marker },
      ]);
    }
    throw error;
  }
  const head: WriteOp[] = started ? [] : [{ op: "deleteRange", start: range.gte, end: range.lt }];
  const tail: WriteOp[] = [
    { op: "put", key: appliedIndexKey(partition), value: appliedIndexValue(appliedIndex, raftMeta) },
  ];
  if (started) tail.push({ op: "delete", key: marker });
  await hooks.write([...head, ...ops, ...tail]);
}
