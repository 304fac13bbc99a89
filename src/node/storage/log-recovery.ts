/**
 * Opening a Raft log directory: check that it is ours, replay every segment in order into a
 * fresh index, and cut a torn tail.
 *
 * A crash can only damage the end of the last segment: every write appends there, and a new
 * segment is created only after the previous one's last write was made durable. So:
 * - damage in the last segment (a partial batch, garbage after it, or a header or checkpoint
 *   that never fully landed) is a torn write and is cut off: that batch was never acknowledged;
 * - damage anywhere else is corruption: we refuse to open, naming the file and offset, rather
 *   than silently drop acknowledged data.
 * (Damage in the middle of the last segment looks like a torn tail and is cut there too; with
 * fsync on, only the unacknowledged last batch can be torn.)
 */

import { mkdir, open, readdir, readFile, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import { LogDecodeError } from "./log-codec.js";
import { NotARaftLogError, RaftLogCorruptError } from "./log-errors.js";
import {
  checkSegmentHeader,
  decodeRecord,
  FLAG_END,
  type LogRecord,
  parseSegmentFileName,
  readFramedRecord,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from "./log-format.js";
import { LogIndex, LogIndexError, type RecordLocation } from "./log-index.js";

export interface RecoveredLog {
  readonly index: LogIndex;
  /** Segments on disk after recovery, ascending and contiguous. */
  readonly segments: number[];
  /** The last segment and its length after cutting the tail; undefined for an empty log. */
  readonly active: { readonly seq: number; readonly size: number } | undefined;
  /** Bytes cut from the tail (0 after a clean shutdown). */
  readonly tornBytes: number;
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function listSegments(dir: string): Promise<number[]> {
  await mkdir(dir, { recursive: true });
  const seqs: number[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const seq = entry.isFile() ? parseSegmentFileName(entry.name) : undefined;
    if (seq === undefined) {
      throw new NotARaftLogError(
        `${dir} is not a tinyo raft log directory: it contains "${entry.name}". ` +
          "Point the data directory at an empty directory or at an existing tinyo node's data; nothing was changed.",
      );
    }
    seqs.push(seq);
  }
  seqs.sort((a, b) => a - b);
  seqs.forEach((seq, i) => {
    const prev = seqs[i - 1];
    if (prev !== undefined && seq !== prev + 1) {
      const missing =
        seq === prev + 2
          ? `segment ${segmentFileName(prev + 1)} is missing`
          : `segments ${segmentFileName(prev + 1)} to ${segmentFileName(seq - 1)} are missing`;
      throw new RaftLogCorruptError(`raft log ${dir}: ${missing}; refusing to open with a hole in the log`);
    }
  });
  return seqs;
}

interface Pending {
  readonly record: LogRecord;
  readonly at: RecordLocation;
}

type SegmentScan =
  /** Every batch was applied; `goodEnd` is where the last whole batch ends. */
  | { readonly kind: "scanned"; readonly goodEnd: number; readonly problem: string | undefined }
  /** The segment has no whole header or checkpoint: its creation was interrupted. */
  | { readonly kind: "unborn"; readonly problem: string };

/** Replays one segment into `index`; throws on damage a crash cannot explain. */
function scanSegment(file: string, seq: number, buf: Buffer, index: LogIndex): SegmentScan {
  const header = checkSegmentHeader(buf, seq);
  if (!header.ok) {
    if (header.torn) return { kind: "unborn", problem: "incomplete segment header" };
    throw new NotARaftLogError(
      `${file} is not a tinyo raft log segment: ${header.problem}; nothing was changed`,
    );
  }
  let offset = SEGMENT_HEADER_BYTES;
  let goodEnd = offset;
  let pending: Pending[] = [];
  let batches = 0;
  while (offset < buf.length) {
    const framed = readFramedRecord(buf, offset);
    if (!framed.ok)
      return batches === 0 ? { kind: "unborn", problem: framed.problem } : scanned(framed.problem);
    let record: LogRecord;
    try {
      record = decodeRecord(buf, framed);
    } catch (err) {
      if (err instanceof LogDecodeError) {
        throw new RaftLogCorruptError(
          `${file} at offset ${offset}: a checksummed record does not parse: ${err.message}`,
        );
      }
      throw err;
    }
    pending.push({ record, at: { seq, offset, length: framed.end - offset } });
    offset = framed.end;
    if ((framed.flags & FLAG_END) === 0) continue;
    if (batches === 0 && (pending.length !== 1 || record.kind !== "checkpoint")) {
      throw new RaftLogCorruptError(`${file} does not begin with a checkpoint record`);
    }
    for (const p of pending) {
      try {
        index.apply(p.record, p.at);
      } catch (err) {
        if (err instanceof LogIndexError)
          throw new RaftLogCorruptError(`${file} at offset ${p.at.offset}: ${err.message}`);
        throw err;
      }
    }
    pending = [];
    goodEnd = offset;
    batches++;
  }
  if (batches === 0) return { kind: "unborn", problem: "no checkpoint" };
  return scanned(pending.length > 0 ? "the last batch is incomplete" : undefined);

  function scanned(problem: string | undefined): SegmentScan {
    return { kind: "scanned", goodEnd, problem };
  }
}

export async function recoverLog(dir: string, fsync: boolean): Promise<RecoveredLog> {
  const seqs = await listSegments(dir);
  const index = new LogIndex();
  let tornBytes = 0;
  let active: RecoveredLog["active"];
  for (const [i, seq] of seqs.entries()) {
    const file = join(dir, segmentFileName(seq));
    const last = i === seqs.length - 1;
    const buf = await readFile(file);
    const scan = scanSegment(file, seq, buf, index);
    if (scan.kind === "unborn") {
      if (!last)
        throw new RaftLogCorruptError(`${file} is damaged (${scan.problem}) but is not the last segment`);
      // Nothing in it was ever acknowledged: remove it, the next write creates it afresh.
      await unlink(file);
      if (fsync) await syncDirectory(dir);
      seqs.pop();
      tornBytes += buf.length;
      break;
    }
    if (scan.goodEnd < buf.length) {
      if (!last) {
        throw new RaftLogCorruptError(
          `${file} is corrupt at offset ${scan.goodEnd} (${scan.problem}); it is not the last segment, so this ` +
            "is not a torn write, and opening would lose acknowledged data. Restore the node's data or rebuild it from its peers.",
        );
      }
      await truncate(file, scan.goodEnd);
      if (fsync) {
        const handle = await open(file, "r+");
        await handle.datasync().finally(() => handle.close());
      }
      tornBytes += buf.length - scan.goodEnd;
    }
    if (last) active = { seq, size: scan.goodEnd };
  }
  return { index, segments: seqs, active, tornBytes };
}
