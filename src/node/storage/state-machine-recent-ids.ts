/**
 * The request ids a partition applied since this process began to track it, kept in memory so
 * that an apply reads RocksDB's dedup records (state-machine-dedup.ts) only for the ids that may
 * be there. A new request, the common case, then costs no read: one thread-pool hop less per
 * apply cycle.
 *
 * Memory holds every record applied after `trackedAfter` (the partition's applied index when
 * tracking began: at open, or at a snapshot install; records up to it may be on disk only). An
 * entry at index i can only be a duplicate of a request applied at j > i - window (isLiveRecord),
 * so memory alone decides a batch from `first` when no record at or below `trackedAfter` can be
 * live for it: first - window >= trackedAfter, or trackedAfter = 0 (no records before index 1).
 * After a restart, reads go on until the window has passed (as they always did before this).
 *
 * An id is kept as a 30-bit hash, a small integer (a Set of them costs ~20 bytes a record; like
 * the records on disk, at most two generations of `window` entries are kept). A hit may be a
 * collision and is confirmed by reading the record: a new id collides with probability
 * records / 2^30, e.g. 1 in 5,000 with 200,000 records.
 */

import { generationOf } from "./state-machine-dedup.js";

export class RecentRequestIds {
  /** Generation (state-machine-dedup.ts) -> the hashes of the ids applied in it. */
  private readonly generations = new Map<number, Set<number>>();

  constructor(
    private readonly window: number,
    private readonly trackedAfter: number,
  ) {}

  /** Of a batch's request ids (its entries start at `first`), those whose record must be read. */
  toRead(first: number, requestIds: readonly Uint8Array[]): readonly Uint8Array[] {
    const complete = this.trackedAfter === 0 || first - this.window >= this.trackedAfter;
    if (!complete) return requestIds;
    return requestIds.filter((id) => {
      const hash = hashOf(id);
      for (const ids of this.generations.values()) if (ids.has(hash)) return true;
      return false;
    });
  }

  /** The request `requestId` was applied at `index` (its record is in the batch being written). */
  record(index: number, requestId: Uint8Array): void {
    const generation = generationOf(index, this.window);
    let ids = this.generations.get(generation);
    if (ids === undefined) {
      ids = new Set();
      this.generations.set(generation, ids);
      // As on disk: a record below the previous generation is expired for every later entry.
      for (const old of this.generations.keys()) if (old < generation - 1) this.generations.delete(old);
    }
    ids.add(hashOf(requestId));
  }
}

/** A hash of all the id's bytes, cut to 30 bits (ids need not be random: some clients count). */
function hashOf(requestId: Uint8Array): number {
  const n = requestId.length;
  let hash = 0;
  for (let i = 0; i < n; i++) hash = (Math.imul(hash, 31) + (requestId[i] as number)) | 0;
  return hash & 0x3fffffff;
}
