/**
 * Turns one ready cycle's writes into the records of one batch, checking them against the
 * index first so that a bad write is refused before a byte reaches the disk.
 */

import type { Entry, HardState, SnapshotMeta } from "../raft/types.js";
import {
  checkpointBytes,
  entriesBytes,
  type GroupCheckpoint,
  HARD_STATE_BYTES,
  snapshotBytes,
  writeCheckpoint,
  writeEntries,
  writeHardState,
  writeSnapshot,
} from "./log-codec.js";
import { InvalidLogWriteError } from "./log-errors.js";
import { type LogRecord, type RecordSpec, RecordType } from "./log-format.js";
import type { LogIndex } from "./log-index.js";

/** What one Raft group persists in a ready cycle. */
export interface GroupWrite {
  readonly group: number;
  /** Replace the stored log from entries[0].index on; may be empty. */
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
  /** An installed snapshot: the whole stored log is discarded and restarts after it. */
  readonly snapshot?: SnapshotMeta;
}

/** A record to write and what it does to the index once durable. */
export interface PlannedRecord {
  readonly spec: RecordSpec;
  readonly record: LogRecord;
}

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

function checkGroup(group: number): void {
  if (group >>> 0 !== group) throw new InvalidLogWriteError(`group id ${group} is not a u32`);
}

function checkEntries(group: number, entries: readonly Entry[]): void {
  entries.forEach((e, i) => {
    const expected = (entries[0] as Entry).index + i;
    if (!isIndex(e.index) || e.index < 1 || e.index !== expected || !isIndex(e.term)) {
      throw new InvalidLogWriteError(
        `group ${group}: entry ${i} has index ${e.index} and term ${e.term}; entries must be contiguous from index >= 1`,
      );
    }
  });
}

/** Per group while planning: the floor and last index after the writes planned so far. */
interface Shadow {
  floor: number;
  last: number;
  hasEntries: boolean;
}

export function planBatch(index: LogIndex, batch: readonly GroupWrite[]): PlannedRecord[] {
  const shadows = new Map<number, Shadow>();
  const out: PlannedRecord[] = [];
  for (const w of batch) {
    const group = w.group;
    checkGroup(group);
    let shadow = shadows.get(group);
    if (shadow === undefined) {
      const g = index.get(group);
      shadow = g
        ? { floor: g.floor, last: g.lastIndex(), hasEntries: g.hasEntries() }
        : { floor: 0, last: 0, hasEntries: false };
      shadows.set(group, shadow);
    }
    if (w.snapshot !== undefined) {
      const meta = w.snapshot;
      if (!isIndex(meta.index) || !isIndex(meta.term)) {
        throw new InvalidLogWriteError(`group ${group}: snapshot index ${meta.index} / term ${meta.term}`);
      }
      out.push(snapshotRecord(group, meta));
      shadow.floor = meta.index;
      shadow.last = meta.index;
      shadow.hasEntries = false;
    }
    checkEntries(group, w.entries);
    const first = w.entries[0]?.index ?? 0;
    const kept = w.entries.slice(Math.max(0, shadow.floor + 1 - first));
    if (kept.length > 0) {
      const from = (kept[0] as Entry).index;
      if (shadow.hasEntries ? from > shadow.last + 1 : from !== shadow.floor + 1) {
        throw new InvalidLogWriteError(
          `group ${group}: entries from ${from} would leave a gap after index ${shadow.last}`,
        );
      }
      out.push(entriesRecord(group, kept));
      shadow.last = (kept[kept.length - 1] as Entry).index;
      shadow.hasEntries = true;
    }
    if (w.hardState !== undefined) {
      const hs = w.hardState;
      if (!isIndex(hs.term) || !isIndex(hs.commit) || hs.vote >>> 0 !== hs.vote) {
        throw new InvalidLogWriteError(`group ${group}: hard state ${JSON.stringify(hs)}`);
      }
      out.push(hardStateRecord(group, hs));
    }
  }
  return out;
}

function entriesRecord(group: number, entries: readonly Entry[]): PlannedRecord {
  return {
    spec: {
      type: RecordType.entries,
      group,
      payloadBytes: entriesBytes(entries),
      write: (w) => writeEntries(w, entries),
    },
    record: { kind: "entries", group, first: (entries[0] as Entry).index, count: entries.length },
  };
}

function hardStateRecord(group: number, hardState: HardState): PlannedRecord {
  return {
    spec: {
      type: RecordType.hardState,
      group,
      payloadBytes: HARD_STATE_BYTES,
      write: (w) => writeHardState(w, hardState),
    },
    record: { kind: "hardState", group, hardState },
  };
}

function snapshotRecord(group: number, meta: SnapshotMeta): PlannedRecord {
  return {
    spec: {
      type: RecordType.snapshot,
      group,
      payloadBytes: snapshotBytes(meta),
      write: (w) => writeSnapshot(w, meta),
    },
    record: { kind: "snapshot", group, meta },
  };
}

export function compactRecord(group: number, meta: SnapshotMeta): PlannedRecord {
  return {
    spec: {
      type: RecordType.compact,
      group,
      payloadBytes: snapshotBytes(meta),
      write: (w) => writeSnapshot(w, meta),
    },
    record: { kind: "compact", group, meta },
  };
}

export function checkpointRecord(groups: readonly GroupCheckpoint[]): PlannedRecord {
  return {
    spec: {
      type: RecordType.checkpoint,
      group: 0,
      payloadBytes: checkpointBytes(groups),
      write: (w) => writeCheckpoint(w, groups),
    },
    record: { kind: "checkpoint", groups },
  };
}

/** Forgets everything stored for `group` (its replica left this node). */
export function dropRecord(group: number): PlannedRecord {
  return {
    spec: { type: RecordType.drop, group, payloadBytes: 0, write: () => {} },
    record: { kind: "drop", group },
  };
}
