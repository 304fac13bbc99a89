/**
 * On-disk layout of the Raft log (payload layouts are in log-codec.ts).
 *
 * A log is a directory of segment files named `<seq>.rlog`, seq a 10-digit decimal counting up
 * from 1 with no gaps. Nothing else may live in the directory.
 *
 * Segment file:
 *   header (16 bytes)  "TINYOLOG" magic (8), u32 format version (2), u32 seq (= the file name)
 *   then batches, back to back. The first batch of every segment is exactly one checkpoint
 *   record (see raft-engine.ts for why).
 *
 * Batch: the records of one write() call, in order. Its last record carries the END flag; a
 * batch counts only when all its records up to END are intact, so one write() is atomic.
 *
 * Record (16-byte header + payload, little-endian):
 *   0   u32 crc     CRC-32 (zlib.crc32, IEEE) of bytes 4 .. end of payload
 *   4   u32 length  payload bytes
 *   8   u8  type    1 entries, 2 hardState, 3 snapshot, 4 compact, 5 checkpoint, 6 drop
 *   9   u8  flags   1 = END (last record of its batch)
 *   10  u16 reserved, 0
 *   12  u32 group   the Raft group (partition id); 0 for a checkpoint
 *   16  payload
 */

import { crc32 } from "node:zlib";
import type { HardState, SnapshotMeta } from "../raft/types.js";
import {
  ByteReader,
  ByteWriter,
  type GroupCheckpoint,
  LogDecodeError,
  readCheckpoint,
  readEntriesExtent,
  readHardState,
  readSnapshot,
} from "./log-codec.js";

export const SEGMENT_MAGIC = Buffer.from("TINYOLOG", "latin1");
/** 2: a compact record carries the term and configuration at its index (1 had the index only). */
export const FORMAT_VERSION = 2;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 16;
export const FLAG_END = 1;

export const RecordType = {
  entries: 1,
  hardState: 2,
  snapshot: 3,
  compact: 4,
  checkpoint: 5,
  drop: 6,
} as const;

const SEGMENT_NAME = /^(\d{10})\.rlog$/;

export const segmentFileName = (seq: number): string => `${String(seq).padStart(10, "0")}.rlog`;

export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function segmentHeader(seq: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(FORMAT_VERSION, 8);
  buf.writeUInt32LE(seq, 12);
  return buf;
}

export type HeaderCheck =
  | { readonly ok: true }
  /** Shorter than a header, or all zeros: a segment whose creation a crash interrupted. */
  | { readonly ok: false; readonly torn: true }
  | { readonly ok: false; readonly torn: false; readonly problem: string };

export function checkSegmentHeader(file: Uint8Array, seq: number): HeaderCheck {
  const expected = segmentHeader(seq);
  const prefix = Buffer.from(file.buffer, file.byteOffset, Math.min(file.length, SEGMENT_HEADER_BYTES));
  if (file.length < SEGMENT_HEADER_BYTES || !prefix.subarray(0, 8).equals(SEGMENT_MAGIC)) {
    const torn = expected.subarray(0, file.length).equals(prefix) || file.every((b) => b === 0);
    return torn
      ? { ok: false, torn: true }
      : { ok: false, torn: false, problem: "it does not start with the tinyo raft log header" };
  }
  const buf = prefix;
  const version = buf.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    return {
      ok: false,
      torn: false,
      problem: `format version ${version}, this build reads ${FORMAT_VERSION}`,
    };
  }
  const inFile = buf.readUInt32LE(12);
  if (inFile !== seq) return { ok: false, torn: false, problem: `its header says segment ${inFile}` };
  return { ok: true };
}

// --- writing ----------------------------------------------------------------------------------

/** A record to be written: its payload size is known up front so a batch is one allocation. */
export interface RecordSpec {
  readonly type: number;
  readonly group: number;
  readonly payloadBytes: number;
  readonly write: (w: ByteWriter) => void;
}

export const batchBytes = (specs: readonly RecordSpec[]): number =>
  specs.reduce((n, s) => n + RECORD_HEADER_BYTES + s.payloadBytes, 0);

/** Frames `specs` as one batch into `buf` at `at`; returns each record's offset in `buf`. */
export function frameBatch(specs: readonly RecordSpec[], buf: Buffer, at: number): number[] {
  const offsets: number[] = [];
  let offset = at;
  specs.forEach((spec, i) => {
    const end = offset + RECORD_HEADER_BYTES + spec.payloadBytes;
    const w = new ByteWriter(buf, offset + 4);
    w.u32(spec.payloadBytes);
    w.u8(spec.type);
    w.u8(i === specs.length - 1 ? FLAG_END : 0);
    w.u16(0);
    w.u32(spec.group);
    spec.write(w);
    if (w.offset !== end) {
      throw new Error(
        `record type ${spec.type} wrote ${w.offset - offset - 16} bytes, sized ${spec.payloadBytes}`,
      );
    }
    buf.writeUInt32LE(crc32(buf.subarray(offset + 4, end)), offset);
    offsets.push(offset);
    offset = end;
  });
  return offsets;
}

// --- reading ----------------------------------------------------------------------------------

export type FramedRecord =
  | {
      readonly ok: true;
      readonly type: number;
      readonly flags: number;
      readonly group: number;
      readonly payloadStart: number;
      readonly end: number;
    }
  | { readonly ok: false; readonly problem: string };

/** The record at `offset` if it is whole and its checksum matches. */
export function readFramedRecord(buf: Uint8Array, offset: number): FramedRecord {
  const left = buf.length - offset;
  if (left < RECORD_HEADER_BYTES)
    return { ok: false, problem: `${left} bytes, too short for a record header` };
  const view = new DataView(buf.buffer, buf.byteOffset + offset, RECORD_HEADER_BYTES);
  const length = view.getUint32(4, true);
  if (length > left - RECORD_HEADER_BYTES) {
    return { ok: false, problem: `record of ${length} bytes overruns the file (${left - 16} left)` };
  }
  const end = offset + RECORD_HEADER_BYTES + length;
  if (crc32(buf.subarray(offset + 4, end)) !== view.getUint32(0, true)) {
    return { ok: false, problem: "checksum mismatch" };
  }
  return {
    ok: true,
    type: view.getUint8(8),
    flags: view.getUint8(9),
    group: view.getUint32(12, true),
    payloadStart: offset + RECORD_HEADER_BYTES,
    end,
  };
}

/** What a record means to the index (an entries record only by its extent; `load` reads it). */
export type LogRecord =
  | { readonly kind: "entries"; readonly group: number; readonly first: number; readonly count: number }
  | { readonly kind: "hardState"; readonly group: number; readonly hardState: HardState }
  | { readonly kind: "snapshot"; readonly group: number; readonly meta: SnapshotMeta }
  | { readonly kind: "compact"; readonly group: number; readonly meta: SnapshotMeta }
  | { readonly kind: "checkpoint"; readonly groups: readonly GroupCheckpoint[] }
  /** The group's replica left this node: everything stored for it is forgotten (empty payload). */
  | { readonly kind: "drop"; readonly group: number };

/** Decodes a checksummed record; throws LogDecodeError if it does not parse. */
export function decodeRecord(buf: Uint8Array, rec: FramedRecord & { ok: true }): LogRecord {
  const r = new ByteReader(buf, rec.payloadStart, rec.end);
  const group = rec.group;
  let out: LogRecord;
  switch (rec.type) {
    case RecordType.entries:
      return { kind: "entries", group, ...readEntriesExtent(r) };
    case RecordType.hardState:
      out = { kind: "hardState", group, hardState: readHardState(r) };
      break;
    case RecordType.snapshot:
      out = { kind: "snapshot", group, meta: readSnapshot(r) };
      break;
    case RecordType.compact:
      out = { kind: "compact", group, meta: readSnapshot(r) };
      break;
    case RecordType.checkpoint:
      out = { kind: "checkpoint", groups: readCheckpoint(r) };
      break;
    case RecordType.drop:
      out = { kind: "drop", group };
      break;
    default:
      throw new LogDecodeError(`unknown record type ${rec.type}`);
  }
  r.expectEnd();
  return out;
}
