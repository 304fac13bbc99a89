/**
 * Partition snapshots: reading a partition's records from a RocksDB snapshot into chunks, and
 * checking received chunks record by record.
 *
 * A snapshot carries the partition's user data and its dedup records (so exactly-once survives
 * a move). The applied index travels beside the chunks, not in them.
 *
 * Chunk format: [version: u8 = 1] then records, each [keyLength: u32] [key] [valueLength: u32]
 * [value], where the key is partition-relative: [tag] [rest] (state-machine-keys.ts). A chunk
 * is at most `chunkBytes`; a record never spans two chunks.
 */

import type RocksDB from "rocksdb-native";
import type { PartitionId } from "../ids.js";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "./commands.js";
import { SnapshotFormatError } from "./state-machine-errors.js";
import {
  DEDUP_RELATIVE_KEY_BYTES,
  PARTITION_PREFIX_BYTES,
  readU32,
  Tag,
  tagRange,
  writeU32,
} from "./state-machine-keys.js";

const CHUNK_VERSION = 1;
const RECORD_OVERHEAD = 8;

/** The largest record: a data key of the largest user key with the largest value. */
export const MAX_SNAPSHOT_RECORD_BYTES = RECORD_OVERHEAD + 1 + MAX_KEY_BYTES + MAX_VALUE_BYTES;
/** The smallest chunk size allowed: one byte of header and the largest record. */
export const MIN_SNAPSHOT_CHUNK_BYTES = 1 + MAX_SNAPSHOT_RECORD_BYTES;
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 2 * 1024 * 1024;

/** A record of a snapshot: a partition-relative key ([tag] [rest]) and its value. */
export interface SnapshotRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Builds chunks of at most `chunkBytes` from records, writing each record once into the chunk. */
class ChunkBuilder {
  private chunk: Uint8Array | undefined;
  private used = 0;

  constructor(private readonly chunkBytes: number) {}

  /** Adds a record; returns the finished chunk if the record did not fit in the current one. */
  add(record: SnapshotRecord): Uint8Array | undefined {
    const size = RECORD_OVERHEAD + record.key.length + record.value.length;
    const full = this.chunk !== undefined && this.used + size > this.chunk.length ? this.finish() : undefined;
    if (this.chunk === undefined) {
      this.chunk = new Uint8Array(Math.max(this.chunkBytes, 1 + size)); // larger only for a record over the limits
      this.chunk[0] = CHUNK_VERSION;
      this.used = 1;
    }
    const chunk = this.chunk;
    writeU32(chunk, this.used, record.key.length);
    chunk.set(record.key, this.used + 4);
    this.used += 4 + record.key.length;
    writeU32(chunk, this.used, record.value.length);
    chunk.set(record.value, this.used + 4);
    this.used += 4 + record.value.length;
    return full;
  }

  /** The chunk so far (undefined if empty), and starts a new one. */
  finish(): Uint8Array | undefined {
    const chunk = this.chunk?.subarray(0, this.used);
    this.chunk = undefined;
    return chunk;
  }
}

/**
 * The chunks of `partition` read through `session` (a RocksDB snapshot session): the dedup
 * records, then the user data, in key order. No chunk when the partition holds nothing.
 */
export async function* readSnapshotChunks(
  session: RocksDB,
  partition: PartitionId,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  const builder = new ChunkBuilder(chunkBytes);
  for (const tag of [Tag.dedup, Tag.data]) {
    for await (const { key, value } of session.iterator({ ...tagRange(partition, tag), capacity: 512 })) {
      const chunk = builder.add({ key: key.subarray(PARTITION_PREFIX_BYTES), value });
      if (chunk !== undefined) yield chunk;
    }
  }
  const last = builder.finish();
  if (last !== undefined) yield last;
}

/** The records of one chunk, checked (SnapshotFormatError for anything `snapshot()` cannot produce). */
export function parseSnapshotChunk(chunk: Uint8Array): SnapshotRecord[] {
  if (chunk.length === 0 || chunk[0] !== CHUNK_VERSION) {
    throw new SnapshotFormatError(
      `snapshot chunk version ${chunk[0] ?? "(empty chunk)"} is not ${CHUNK_VERSION}: ` +
        "the sender runs another tinyo version, or the chunk is damaged",
    );
  }
  const records: SnapshotRecord[] = [];
  let at = 1;
  const take = (length: number, what: string): Uint8Array => {
    if (at + length > chunk.length) {
      throw new SnapshotFormatError(
        `snapshot chunk truncated: a ${what} of ${length} bytes at offset ${at} runs past its end (${chunk.length} bytes)`,
      );
    }
    const out = chunk.subarray(at, at + length);
    at += length;
    return out;
  };
  while (at < chunk.length) {
    const key = take(readU32(take(4, "key length"), 0), "key");
    const value = take(readU32(take(4, "value length"), 0), "value");
    checkRecord(key, value);
    records.push({ key, value });
  }
  return records;
}

function checkRecord(key: Uint8Array, value: Uint8Array): void {
  const tag = key[0];
  const ok =
    (tag === Tag.dedup && key.length === DEDUP_RELATIVE_KEY_BYTES && value.length === 8) ||
    (tag === Tag.data &&
      key.length >= 2 &&
      key.length <= 1 + MAX_KEY_BYTES &&
      value.length <= MAX_VALUE_BYTES);
  if (!ok) {
    throw new SnapshotFormatError(
      `snapshot record with tag ${tag ?? "(none)"}, a ${key.length}-byte key and a ${value.length}-byte value ` +
        "is neither a dedup record nor a user key within the limits: the chunk is damaged",
    );
  }
}

/**
 * A partition as it was at one instant: its applied index and its records, read from a RocksDB
 * snapshot so that applies made since do not leak in. Holding it pins old versions in RocksDB:
 * read the chunks to the end (which releases it) or close() it.
 */
export class PartitionSnapshot {
  private generator: AsyncGenerator<Uint8Array> | undefined;
  private released: Promise<void> | undefined;

  /** @internal Made by StateMachine.snapshot(). */
  constructor(
    readonly partition: PartitionId,
    /** The applied index the chunks reflect, exactly. */
    readonly appliedIndex: number,
    private readonly session: RocksDB,
    private readonly chunkBytes: number,
    private readonly onRelease: (snapshot: PartitionSnapshot) => void,
  ) {}

  /** The chunks, each at most `chunkBytes` bytes (readable once). Releases the snapshot at the end. */
  chunks(): AsyncGenerator<Uint8Array> {
    if (this.generator !== undefined || this.released !== undefined) {
      throw new Error(
        `the snapshot of partition ${this.partition} was already read or closed: take a new one`,
      );
    }
    this.generator = this.read();
    return this.generator;
  }

  private async *read(): AsyncGenerator<Uint8Array> {
    try {
      yield* readSnapshotChunks(this.session, this.partition, this.chunkBytes);
    } finally {
      await this.release();
    }
  }

  /** Stops a reading in progress and releases the RocksDB snapshot. */
  async close(): Promise<void> {
    await this.generator?.return(undefined);
    await this.release();
  }

  private release(): Promise<void> {
    this.released ??= this.session.close().finally(() => this.onRelease(this));
    return this.released;
  }
}
