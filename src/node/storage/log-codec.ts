/**
 * Binary payloads of the Raft log's records. Everything is little-endian; a `u64` is written
 * as two u32 halves (low first) and must hold a non-negative safe integer, which every index
 * and term does. Node ids and group ids are u32.
 *
 *   config      u16 voterCount, u32 voter..., u16 learnerCount, u32 learner...
 *   entries     u64 firstIndex, u32 count, then per entry (indices are firstIndex, +1, ...):
 *                 u64 term, u8 kind,
 *                 kind 0 (normal):     u32 dataLength, data bytes
 *                 kind 1 (confChange): u8 change (0 addLearner, 1 addVoter, 2 removeNode),
 *                                      u32 node, config (the configuration that results)
 *   hardState   u64 term, u32 vote (0 = none), u64 commit
 *   snapshot    u64 index, u64 term, config
 *   compact     as snapshot: the index up to which entries are no longer needed, with the term
 *               and configuration at that index (so that a restart needs nothing else)
 *   checkpoint  u32 groupCount, then per group: u32 group, u8 flags (1 = has hard state,
 *               2 = has snapshot), [hardState], [snapshot], u64 floor; the snapshot is the
 *               meta at the floor (an installed snapshot's or a compaction's, the newer)
 */

import { nodeId } from "../ids.js";
import type { ConfChange, Config, Entry, HardState, NodeId, SnapshotMeta } from "../raft/types.js";

/** A payload that does not parse although its checksum matched: a bug or a foreign format. */
export class LogDecodeError extends Error {
  override name = "LogDecodeError";
}

const TWO_32 = 2 ** 32;

export class ByteWriter {
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    public offset = 0,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  u8(v: number): void {
    this.view.setUint8(this.offset, v);
    this.offset += 1;
  }

  u16(v: number): void {
    if (v >>> 0 !== v || v > 0xffff) throw new RangeError(`${v} does not fit in a u16`);
    this.view.setUint16(this.offset, v, true);
    this.offset += 2;
  }

  u32(v: number): void {
    if (v >>> 0 !== v) throw new RangeError(`${v} does not fit in a u32`);
    this.view.setUint32(this.offset, v, true);
    this.offset += 4;
  }

  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${v} is not a non-negative safe integer`);
    this.view.setUint32(this.offset, v >>> 0, true);
    this.view.setUint32(this.offset + 4, Math.floor(v / TWO_32), true);
    this.offset += 8;
  }

  bytes(data: Uint8Array): void {
    this.buf.set(data, this.offset);
    this.offset += data.length;
  }
}

export class ByteReader {
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    public offset: number,
    private readonly end: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.offset + n > this.end) {
      throw new LogDecodeError(`payload ends ${this.offset + n - this.end} bytes early`);
    }
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.view.getUint32(this.offset, true) + this.view.getUint32(this.offset + 4, true) * TWO_32;
    if (!Number.isSafeInteger(v)) throw new LogDecodeError(`u64 ${v} is not a safe integer`);
    this.offset += 8;
    return v;
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.offset, n);
    this.offset += n;
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  expectEnd(): void {
    if (this.offset !== this.end)
      throw new LogDecodeError(`${this.end - this.offset} unexpected trailing bytes`);
  }
}

// --- config and conf changes ------------------------------------------------------------------

const configBytes = (c: Config): number => 4 + 4 * (c.voters.length + c.learners.length);

function writeConfig(w: ByteWriter, c: Config): void {
  w.u16(c.voters.length);
  for (const v of c.voters) w.u32(v);
  w.u16(c.learners.length);
  for (const l of c.learners) w.u32(l);
}

function readNodes(r: ByteReader): NodeId[] {
  const n = r.u16();
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(nodeId(r.u32()));
  return out;
}

function readConfig(r: ByteReader): Config {
  const voters = readNodes(r);
  const learners = readNodes(r);
  return { voters, learners };
}

const CHANGE_CODES: Record<ConfChange["type"], number> = { addLearner: 0, addVoter: 1, removeNode: 2 };
const CHANGE_TYPES: readonly ConfChange["type"][] = ["addLearner", "addVoter", "removeNode"];

// --- entries ----------------------------------------------------------------------------------

const ENTRY_NORMAL = 0;
const ENTRY_CONF_CHANGE = 1;

export function entriesBytes(entries: readonly Entry[]): number {
  let n = 12;
  for (const e of entries) {
    n += 9 + (e.type === "normal" ? 4 + e.data.length : 5 + configBytes(e.config));
  }
  return n;
}

/** `entries` must be non-empty and contiguous (the caller checked). */
export function writeEntries(w: ByteWriter, entries: readonly Entry[]): void {
  w.u64((entries[0] as Entry).index);
  w.u32(entries.length);
  for (const e of entries) {
    w.u64(e.term);
    if (e.type === "normal") {
      w.u8(ENTRY_NORMAL);
      w.u32(e.data.length);
      w.bytes(e.data);
    } else {
      w.u8(ENTRY_CONF_CHANGE);
      w.u8(CHANGE_CODES[e.change.type]);
      w.u32(e.change.node);
      writeConfig(w, e.config);
    }
  }
}

/** First index and count of an entries payload, checking that the whole payload parses. */
export function readEntriesExtent(r: ByteReader): { first: number; count: number } {
  const first = r.u64();
  const count = r.u32();
  if (first < 1) throw new LogDecodeError(`entries start at index ${first}`);
  for (let i = 0; i < count; i++) {
    r.skip(8);
    const kind = r.u8();
    if (kind === ENTRY_NORMAL) r.skip(r.u32());
    else if (kind === ENTRY_CONF_CHANGE) {
      r.skip(5);
      r.skip(4 * r.u16());
      r.skip(4 * r.u16());
    } else throw new LogDecodeError(`unknown entry kind ${kind}`);
  }
  r.expectEnd();
  return { first, count };
}

/** The entries of a payload whose index lies in [from, to]. Data is a view into the payload. */
export function readEntries(r: ByteReader, from: number, to: number): Entry[] {
  const first = r.u64();
  const count = r.u32();
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = first + i;
    if (index > to) break;
    const term = r.u64();
    const kind = r.u8();
    if (kind === ENTRY_NORMAL) {
      const data = r.bytes(r.u32());
      if (index >= from) out.push({ type: "normal", term, index, data });
    } else if (kind === ENTRY_CONF_CHANGE) {
      const code = r.u8();
      const type = CHANGE_TYPES[code];
      if (type === undefined) throw new LogDecodeError(`unknown conf change ${code}`);
      const node = nodeId(r.u32());
      const config = readConfig(r);
      if (index >= from) out.push({ type: "confChange", term, index, change: { type, node }, config });
    } else throw new LogDecodeError(`unknown entry kind ${kind}`);
  }
  return out;
}

// --- hard state, snapshot meta, compaction ------------------------------------------------------

export const HARD_STATE_BYTES = 20;

export function writeHardState(w: ByteWriter, hs: HardState): void {
  w.u64(hs.term);
  w.u32(hs.vote);
  w.u64(hs.commit);
}

export function readHardState(r: ByteReader): HardState {
  const term = r.u64();
  const vote = r.u32();
  const commit = r.u64();
  return { term, vote: vote === 0 ? 0 : nodeId(vote), commit };
}

export const snapshotBytes = (meta: SnapshotMeta): number => 16 + configBytes(meta.config);

export function writeSnapshot(w: ByteWriter, meta: SnapshotMeta): void {
  w.u64(meta.index);
  w.u64(meta.term);
  writeConfig(w, meta.config);
}

export function readSnapshot(r: ByteReader): SnapshotMeta {
  const index = r.u64();
  const term = r.u64();
  return { index, term, config: readConfig(r) };
}

// --- checkpoint -------------------------------------------------------------------------------

/** A group's state apart from its entries, as recorded at the start of every segment. */
export interface GroupCheckpoint {
  readonly group: number;
  readonly hardState: HardState | undefined;
  /** The meta at the floor: of the installed snapshot or of the compaction, whichever is newer. */
  readonly snapshot: SnapshotMeta | undefined;
  /** Entries <= floor are gone (snapshot or compaction); the stored log starts at floor + 1. */
  readonly floor: number;
}

const HAS_HARD_STATE = 1;
const HAS_SNAPSHOT = 2;

export function checkpointBytes(groups: readonly GroupCheckpoint[]): number {
  let n = 4;
  for (const g of groups) {
    n += 13 + (g.hardState ? HARD_STATE_BYTES : 0) + (g.snapshot ? snapshotBytes(g.snapshot) : 0);
  }
  return n;
}

export function writeCheckpoint(w: ByteWriter, groups: readonly GroupCheckpoint[]): void {
  w.u32(groups.length);
  for (const g of groups) {
    w.u32(g.group);
    w.u8((g.hardState ? HAS_HARD_STATE : 0) | (g.snapshot ? HAS_SNAPSHOT : 0));
    if (g.hardState) writeHardState(w, g.hardState);
    if (g.snapshot) writeSnapshot(w, g.snapshot);
    w.u64(g.floor);
  }
}

export function readCheckpoint(r: ByteReader): GroupCheckpoint[] {
  const n = r.u32();
  const out: GroupCheckpoint[] = [];
  for (let i = 0; i < n; i++) {
    const group = r.u32();
    const flags = r.u8();
    const hardState = flags & HAS_HARD_STATE ? readHardState(r) : undefined;
    const snapshot = flags & HAS_SNAPSHOT ? readSnapshot(r) : undefined;
    out.push({ group, hardState, snapshot, floor: r.u64() });
  }
  return out;
}
