/**
 * The key layout of the state machine's RocksDB database (one database per node, the default
 * column family only). Numbers are big-endian, so byte order is numeric order and each
 * partition's keys form one contiguous range.
 *
 *   [0x00] "format"                          -> FORMAT_MARKER (magic + format version)
 *   [0x00] "installing" [partition: u32]     -> empty: a snapshot install in progress
 *   [0x01] [partition: u32] [0x00]                         -> applied index: u64, then, written
 *                                                             by a snapshot install only (the
 *                                                             next apply drops it), the Raft
 *                                                             snapshot meta it came with
 *   [0x01] [partition: u32] [0x01] [generation: u64] [id: 16] -> dedup record: u64 index that
 *                                                                applied request `id`
 *   [0x01] [partition: u32] [0x02] [user key]              -> user value
 *
 * The applied index is the first key of its partition's range, so one seek per partition finds
 * every partition's applied index at open.
 */

import type { PartitionId } from "../ids.js";
import type { SnapshotMeta } from "../raft/types.js";
import { REQUEST_ID_BYTES } from "./commands.js";
import {
  ByteReader,
  ByteWriter,
  LogDecodeError,
  readSnapshot,
  snapshotBytes,
  writeSnapshot,
} from "./log-codec.js";

const NODE_META = 0x00;
const PARTITION = 0x01;

/** The tag byte after a partition's prefix. */
export const Tag = {
  appliedIndex: 0x00,
  dedup: 0x01,
  data: 0x02,
} as const;

/** Bytes before a partition-relative key: [0x01] [partition: u32]. */
export const PARTITION_PREFIX_BYTES = 5;
/** A dedup record's key without the partition prefix: [tag] [generation: u64] [id: 16]. */
export const DEDUP_RELATIVE_KEY_BYTES = 1 + 8 + REQUEST_ID_BYTES;

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Where the format marker lives. */
export const FORMAT_KEY = concat(Uint8Array.of(NODE_META), ascii("format"));
/** The current on-disk format. Bump it (and migrate, or refuse) when the layout changes. */
export const FORMAT_VERSION = 1;
const FORMAT_MAGIC = ascii("tinyo-state-machine");
export const FORMAT_MARKER = concat(FORMAT_MAGIC, u32(FORMAT_VERSION));

/** The format version in a marker value, or undefined if it is not a tinyo marker at all. */
export function formatVersionOf(marker: Uint8Array): number | undefined {
  if (marker.length !== FORMAT_MAGIC.length + 4) return undefined;
  for (let i = 0; i < FORMAT_MAGIC.length; i++) if (marker[i] !== FORMAT_MAGIC[i]) return undefined;
  return readU32(marker, FORMAT_MAGIC.length);
}

const INSTALLING_PREFIX = concat(Uint8Array.of(NODE_META), ascii("installing"));
export const installingKey = (partition: PartitionId): Uint8Array =>
  concat(INSTALLING_PREFIX, u32(partition));
/** The range of every install marker. */
export const INSTALLING_RANGE = { gte: INSTALLING_PREFIX, lt: increment(INSTALLING_PREFIX) };
export const partitionOfInstallingKey = (key: Uint8Array): PartitionId =>
  readU32(key, INSTALLING_PREFIX.length) as PartitionId;

function checkPartition(partition: PartitionId): void {
  if (partition >>> 0 !== partition) {
    throw new RangeError(`a partition id is an integer from 0 to 2^32 - 1, got ${partition}`);
  }
}

/** [0x01] [partition] */
export function partitionPrefix(partition: PartitionId): Uint8Array {
  checkPartition(partition);
  const out = new Uint8Array(PARTITION_PREFIX_BYTES);
  out[0] = PARTITION;
  writeU32(out, 1, partition);
  return out;
}

/** All keys of a partition: [gte, lt). */
export function partitionRange(partition: PartitionId): { gte: Uint8Array; lt: Uint8Array } {
  const gte = partitionPrefix(partition);
  return { gte, lt: increment(gte) };
}

/** Every partition's keys (for the skip scan at open). */
export const ALL_PARTITIONS_RANGE = { gte: Uint8Array.of(PARTITION), lt: Uint8Array.of(PARTITION + 1) };

/** The partition a key of ALL_PARTITIONS_RANGE belongs to. */
export const partitionOfKey = (key: Uint8Array): PartitionId => readU32(key, 1) as PartitionId;

/** [prefix] [tag] [rest] */
export function partitionKey(partition: PartitionId, tag: number, rest?: Uint8Array): Uint8Array {
  checkPartition(partition);
  const out = new Uint8Array(PARTITION_PREFIX_BYTES + 1 + (rest?.length ?? 0));
  out[0] = PARTITION;
  writeU32(out, 1, partition);
  out[PARTITION_PREFIX_BYTES] = tag;
  if (rest !== undefined) out.set(rest, PARTITION_PREFIX_BYTES + 1);
  return out;
}

/** The keys of one tag in a partition: [gte, lt). */
export function tagRange(partition: PartitionId, tag: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: partitionKey(partition, tag), lt: partitionKey(partition, tag + 1) };
}

export const appliedIndexKey = (partition: PartitionId): Uint8Array =>
  partitionKey(partition, Tag.appliedIndex);
export const dataKey = (partition: PartitionId, key: Uint8Array): Uint8Array =>
  partitionKey(partition, Tag.data, key);
/** A dedup record's key; without `requestId`, the start of the generation (for ranges). */
export function dedupKey(partition: PartitionId, generation: number, requestId?: Uint8Array): Uint8Array {
  const out = partitionKey(partition, Tag.dedup, new Uint8Array(8 + (requestId?.length ?? 0)));
  writeU64(out, PARTITION_PREFIX_BYTES + 1, generation);
  if (requestId !== undefined) out.set(requestId, PARTITION_PREFIX_BYTES + 1 + 8);
  return out;
}

/**
 * The value of the applied-index key: the index, and after a snapshot install the Raft meta
 * (index, term, configuration; log-codec.ts's snapshot layout) that the install came with, so
 * that a crash between the install and the Raft log's record of it loses nothing.
 */
export function appliedIndexValue(index: number, raftMeta?: SnapshotMeta): Uint8Array {
  const out = new Uint8Array(8 + (raftMeta ? snapshotBytes(raftMeta) : 0));
  writeU64(out, 0, index);
  if (raftMeta) writeSnapshot(new ByteWriter(out, 8), raftMeta);
  return out;
}

/** The Raft meta stored beside an applied index, if any (undefined for a malformed one too). */
export function raftMetaOfAppliedIndexValue(value: Uint8Array): SnapshotMeta | undefined {
  if (value.length <= 8) return undefined;
  try {
    const r = new ByteReader(value, 8, value.length);
    const meta = readSnapshot(r);
    r.expectEnd();
    return meta;
  } catch (error) {
    if (error instanceof LogDecodeError) return undefined;
    throw error;
  }
}

/** The smallest byte string greater than every string starting with `prefix`; empty if none. */
export function increment(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] ?? 0;
    if (byte !== 0xff) {
      const out = prefix.slice(0, i + 1);
      out[i] = byte + 1;
      return out;
    }
  }
  return new Uint8Array(0);
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  writeU32(out, 0, n);
  return out;
}

export function writeU32(bytes: Uint8Array, at: number, n: number): void {
  bytes[at] = n >>> 24;
  bytes[at + 1] = (n >>> 16) & 0xff;
  bytes[at + 2] = (n >>> 8) & 0xff;
  bytes[at + 3] = n & 0xff;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] ?? 0) << 24) |
      ((bytes[at + 1] ?? 0) << 16) |
      ((bytes[at + 2] ?? 0) << 8) |
      (bytes[at + 3] ?? 0)) >>>
    0
  );
}

/** Raft indexes stay below 2^53, so a number holds them exactly. */
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, n);
  return out;
}

export function writeU64(bytes: Uint8Array, at: number, n: number): void {
  writeU32(bytes, at, Math.floor(n / 0x1_0000_0000));
  writeU32(bytes, at + 4, n >>> 0);
}

export function readU64(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at) * 0x1_0000_0000 + readU32(bytes, at + 4);
}
