/**
 * Exactly-once writes: the dedup records of a partition.
 *
 * A write with a request id that the partition has already applied is skipped. The records live
 * in RocksDB inside the partition's key range (so they survive restarts and travel with
 * snapshots), written in the same batch as the data they guard.
 *
 * Policy: a record expires by Raft index distance. A request applied at index j is a duplicate
 * for an entry at index i exactly when i - j < window (DEDUP_WINDOW_ENTRIES = 100,000 by
 * default). Why distance in the log rather than a count or a clock:
 * - It is deterministic: every replica applies the same entries and so makes the same decisions;
 *   a wall clock differs between replicas (and jumps across restarts) and would make them diverge.
 * - It bounds the size: an entry carries at most one request id, so at most `window` records
 *   are live, and at most 2 x window are stored (see generations below): ~50 bytes each, ~10 MB
 *   per partition at worst.
 * - It is cheap to enforce, with generations: a record applied at index j is stored under
 *   generation floor(j / window). A live record for entry i lies in generation g(i) or g(i) - 1,
 *   so a lookup reads those two keys (one MultiGet for the whole batch), and when an apply
 *   crosses into generation g, one deleteRange drops every generation below g - 1, all expired.
 *   A record costs one put; expiry costs one range delete per `window` entries, no sweep.
 * What it promises a client: a retry is applied once if fewer than `window` entries were
 * applied to the partition between the first attempt and the retry. A single hot partition at
 * the apply rate measured here (docs/storage-rocksdb.md) takes over a second for 100,000
 * entries; through Raft (a round trip and an fsync per batch) much longer; clients retry within
 * their deadline (seconds). The window belongs to the replicated state machine's definition:
 * every node of a cluster must use the same value.
 */

import type RocksDB from "rocksdb-native";
import type { PartitionId } from "../ids.js";
import type { WriteOp } from "./state-machine-apply.js";
import { dedupKey, readU64, u64 } from "./state-machine-keys.js";

/** The default window (in Raft entries) within which a request id counts as applied. */
export const DEDUP_WINDOW_ENTRIES = 100_000;

/** The generation a record applied at `index` is stored under. */
export const generationOf = (index: number, window: number): number => Math.floor(index / window);

/** True if a request applied at `recordIndex` still counts as applied at entry `index`. */
export function isLiveRecord(recordIndex: number, index: number, window: number): boolean {
  return index - recordIndex < window;
}

/** A stable map key for a request id. */
export const requestIdHex = (requestId: Uint8Array): string =>
  Buffer.from(requestId.buffer, requestId.byteOffset, requestId.byteLength).toString("hex");

/** The request ids of one partition's batch of entries first..last. */
export interface DedupLookup {
  readonly partition: PartitionId;
  readonly requestIds: readonly Uint8Array[];
  readonly first: number;
  readonly last: number;
}

/**
 * For each lookup, the newest stored record of each of its request ids that may be live for its
 * entries: request id (hex) -> the index that applied it. One read batch for all of them (a
 * MultiGet on the thread pool).
 */
export async function readDedupRecords(
  db: RocksDB,
  lookups: readonly DedupLookup[],
  window: number,
): Promise<Map<string, number>[]> {
  const found = lookups.map(() => new Map<string, number>());
  const keys: { lookup: number; id: Uint8Array; key: Uint8Array }[] = [];
  lookups.forEach(({ partition, requestIds, first, last }, lookup) => {
    const fromGeneration = Math.max(0, generationOf(first, window) - 1);
    const toGeneration = generationOf(last, window);
    for (const id of requestIds) {
      for (let g = fromGeneration; g <= toGeneration; g++)
        keys.push({ lookup, id, key: dedupKey(partition, g, id) });
    }
  });
  if (keys.length === 0) return found;
  const batch = db.read({ capacity: keys.length, autoDestroy: true });
  const reads = keys.map(({ key }) => batch.get(key));
  batch.tryFlush();
  const values = await Promise.all(reads);
  values.forEach((value, i) => {
    const { lookup, id } = keys[i] as (typeof keys)[number];
    if (value === null) return;
    const hex = requestIdHex(id);
    const map = found[lookup] as Map<string, number>;
    map.set(hex, Math.max(map.get(hex) ?? 0, readU64(value, 0)));
  });
  return found;
}

/**
 * The range delete that drops every generation below g - 1 once an apply moves the partition
 * from `applied` into generation g (none if it stays in its generation). It goes last in the
 * batch: a record the batch itself wrote into those generations (a batch longer than the
 * window) is already expired for every later entry, and the batch's own decisions are made.
 */
export function expireGenerations(
  partition: PartitionId,
  applied: number,
  lastIndex: number,
  window: number,
): WriteOp[] {
  const generation = generationOf(lastIndex, window);
  if (generation === generationOf(applied, window) || generation < 2) return [];
  return [{ op: "deleteRange", start: dedupKey(partition, 0), end: dedupKey(partition, generation - 1) }];
}

/** The key and value of the record of `requestId` applied at `index`. */
export function dedupRecord(
  partition: PartitionId,
  index: number,
  requestId: Uint8Array,
  window: number,
): { key: Uint8Array; value: Uint8Array } {
  return { key: dedupKey(partition, generationOf(index, window), requestId), value: u64(index) };
}
