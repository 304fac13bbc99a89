/**
 * MessageBatch (proto/tinyo/v1/raft.proto) encoded and decoded by hand, straight between the
 * Raft core's plain data and bytes: the peer streams and Raft.Send use it.
 *
 * Why: protobuf-es's reflective toBinary/fromBinary, with the intermediate objects of codec.ts
 * (a message object per RaftMessage and Entry, bigint terms and indexes), was 10-24% of a loaded
 * node's CPU profile. Here a batch costs one sizing pass and one writing pass into a single
 * buffer, and decoding reads the fields, which raft-fields.ts turns into the core's objects (the
 * same decoding as for the protobuf-es objects connect-node hands codec.ts).
 *
 * The bytes are protobuf's, exactly what toBinary(MessageBatchSchema, batchToProto(batch))
 * produces (fields in number order, zero values omitted, repeated uint32 packed), and decoding
 * accepts what any protobuf encoder may produce (any field order, unknown fields skipped, packed
 * or unpacked uint32s): test/transport/batch-wire.test.ts compares both over random batches. One
 * difference, for inputs no tinyo encoder produces: a singular message field repeated in one
 * message is taken last-wins here, where protobuf merges the two.
 *
 * Entry data is copied once, into the batch's buffer, when encoding; decoded entry data are
 * views of the decoded bytes (no copy), which therefore must not be reused.
 */

import { type NodeId, nodeId } from "../ids.js";
import type { ConfChange, Config, Entry, Message, MessageType, SnapshotMeta } from "../raft/types.js";
import {
  batchFromFields,
  EMPTY,
  type EntryFields,
  type GroupMessageFields,
  type MalformedMessageError,
  type MessageFields,
  malformed,
  type PeerBatch,
  type SnapshotMetaFields,
} from "./raft-fields.js";

// ---- encoding ------------------------------------------------------------------------------

const MESSAGE_TYPE_NUMBER: { readonly [T in MessageType]: number } = {
  preVote: 1,
  preVoteResp: 2,
  vote: 3,
  voteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResp: 12,
};

const CONF_CHANGE_NUMBER: { readonly [T in ConfChange["type"]]: number } = {
  addLearner: 1,
  addVoter: 2,
  removeNode: 3,
};

const ENTRY_NORMAL = 1;
const ENTRY_CONF_CHANGE = 2;

/**
 * The batch's protobuf bytes, after `reserve` bytes left for the caller (the 5-byte envelope
 * prefix of a streamed message), in one buffer. An empty token is omitted, as protobuf omits
 * empty strings. Throws RangeError for a number that is not a protobuf unsigned integer.
 */
export function encodeBatch(batch: PeerBatch, reserve = 0): Uint8Array {
  const sizing = new Sink(undefined, reserve);
  writeBatch(sizing, batch);
  const sink = new Sink(Buffer.allocUnsafe(sizing.pos), reserve, sizing.lengths);
  writeBatch(sink, batch);
  return sink.buf as Uint8Array;
}

/**
 * Runs twice: first without a buffer, to measure every nested message (recorded in `lengths`,
 * in the order the messages open), then writing, taking the lengths back in the same order.
 */
class Sink {
  pos: number;
  private next = 0;

  constructor(
    readonly buf: Buffer | undefined,
    start: number,
    readonly lengths: number[] = [],
  ) {
    this.pos = start;
  }

  /** Field tag (wire type in the low 3 bits); every tag here is below 2^14. */
  tag(value: number): void {
    this.varint32(value);
  }

  varint32(n: number): void {
    const buf = this.buf;
    if (buf === undefined) {
      this.pos += n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
      return;
    }
    while (n > 0x7f) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** An unsigned integer up to 2^53 - 1 (a uint64 field). */
  varint(n: number): void {
    if (n <= 0xffffffff) {
      this.varint32(n);
      return;
    }
    const buf = this.buf;
    if (buf === undefined) {
      this.pos += n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8;
      return;
    }
    while (n > 0x7f) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  bytes(data: Uint8Array): void {
    this.varint32(data.length);
    if (this.buf !== undefined) this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  string(text: string): void {
    const length = Buffer.byteLength(text, "utf8");
    this.varint32(length);
    if (this.buf !== undefined) this.buf.write(text, this.pos, length, "utf8");
    this.pos += length;
  }

  /** Opens a nested message (after its tag): returns the token endNested() takes. */
  beginNested(): number {
    if (this.buf === undefined) {
      this.lengths.push(0);
      return (this.lengths.length - 1) * 2 ** 32 + this.pos;
    }
    this.varint32(this.lengths[this.next++] as number);
    return 0;
  }

  endNested(token: number): void {
    if (this.buf !== undefined) return;
    const index = Math.floor(token / 2 ** 32);
    const length = this.pos - (token % 2 ** 32);
    this.lengths[index] = length;
    this.pos += length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
  }
}

function u32(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff))
    throw new RangeError(`${what} ${n} is not a uint32`);
  return n;
}

function u64(n: number, what: string): number {
  if (!(Number.isSafeInteger(n) && n >= 0))
    throw new RangeError(`${what} ${n} is not an integer in [0, 2^53)`);
  return n;
}

/** A uint64 field, omitted at 0 as protobuf omits zero values. */
function u64Field(s: Sink, tag: number, n: number, what: string): void {
  if (u64(n, what) === 0) return;
  s.tag(tag);
  s.varint(n);
}

function u32Field(s: Sink, tag: number, n: number, what: string): void {
  if (u32(n, what) === 0) return;
  s.tag(tag);
  s.varint32(n);
}

function boolField(s: Sink, tag: number, value: boolean): void {
  if (!value) return;
  s.tag(tag);
  s.varint32(1);
}

function writeBatch(s: Sink, batch: PeerBatch): void {
  if (batch.clusterToken.length > 0) {
    s.tag(0x0a);
    s.string(batch.clusterToken);
  }
  u32Field(s, 0x10, batch.from, "from_node");
  for (const { group, message } of batch.messages) {
    s.tag(0x1a);
    const groupMessage = s.beginNested();
    u32Field(s, 0x08, group, "group");
    s.tag(0x12);
    const raftMessage = s.beginNested();
    writeMessage(s, message);
    s.endNested(raftMessage);
    s.endNested(groupMessage);
  }
}

/** RaftMessage: the fields codec.ts's toProto sets for the message's type, in number order. */
function writeMessage(s: Sink, m: Message): void {
  s.tag(0x08);
  s.varint32(MESSAGE_TYPE_NUMBER[m.type]);
  u32Field(s, 0x10, m.from, "from");
  u32Field(s, 0x18, m.to, "to");
  u64Field(s, 0x20, m.term, "term");
  switch (m.type) {
    case "preVote":
    case "vote":
      u64Field(s, 0x28, m.lastLogIndex, "lastLogIndex");
      u64Field(s, 0x30, m.lastLogTerm, "lastLogTerm");
      boolField(s, 0x38, m.transfer);
      return;
    case "preVoteResp":
    case "voteResp":
      boolField(s, 0x40, m.reject);
      return;
    case "append":
      u64Field(s, 0x48, m.prevIndex, "prevIndex");
      u64Field(s, 0x50, m.prevTerm, "prevTerm");
      for (const entry of m.entries) {
        s.tag(0x5a);
        const nested = s.beginNested();
        writeEntry(s, entry);
        s.endNested(nested);
      }
      u64Field(s, 0x60, m.commit, "commit");
      return;
    case "appendResp":
      boolField(s, 0x40, m.reject);
      u64Field(s, 0x68, m.index, "index");
      u64Field(s, 0x70, m.hintIndex, "hintIndex");
      u64Field(s, 0x78, m.hintTerm, "hintTerm");
      return;
    case "heartbeat":
      u64Field(s, 0x60, m.commit, "commit");
      u64Field(s, 0x80, m.readSeq, "readSeq");
      return;
    case "heartbeatResp":
      u64Field(s, 0x80, m.readSeq, "readSeq");
      return;
    case "snapshot": {
      s.tag(0x8a);
      const nested = s.beginNested();
      writeSnapshotMeta(s, m.snapshot.meta);
      s.endNested(nested);
      return;
    }
    case "timeoutNow":
      return;
    case "readIndex":
      writeContext(s, m.context);
      return;
    case "readIndexResp":
      u64Field(s, 0x68, m.index, "index");
      writeContext(s, m.context);
      return;
  }
}

function writeContext(s: Sink, context: string): void {
  if (context.length === 0) return;
  s.tag(0x92);
  s.string(context);
}

function writeEntry(s: Sink, e: Entry): void {
  s.tag(0x08);
  s.varint32(e.type === "normal" ? ENTRY_NORMAL : ENTRY_CONF_CHANGE);
  u64Field(s, 0x10, e.term, "entry term");
  u64Field(s, 0x18, e.index, "entry index");
  if (e.type === "normal") {
    if (e.data.length > 0) {
      s.tag(0x22);
      s.bytes(e.data);
    }
    return;
  }
  s.tag(0x2a);
  const change = s.beginNested();
  s.tag(0x08);
  s.varint32(CONF_CHANGE_NUMBER[e.change.type]);
  u32Field(s, 0x10, e.change.node, "conf change node");
  s.endNested(change);
  s.tag(0x32);
  const config = s.beginNested();
  writeConfig(s, e.config);
  s.endNested(config);
}

function writeSnapshotMeta(s: Sink, meta: SnapshotMeta): void {
  u64Field(s, 0x08, meta.index, "snapshot index");
  u64Field(s, 0x10, meta.term, "snapshot term");
  s.tag(0x1a);
  const config = s.beginNested();
  writeConfig(s, meta.config);
  s.endNested(config);
}

function writeConfig(s: Sink, c: Config): void {
  writePacked(s, 0x0a, c.voters);
  writePacked(s, 0x12, c.learners);
}

function writePacked(s: Sink, tag: number, ids: readonly number[]): void {
  if (ids.length === 0) return;
  s.tag(tag);
  const nested = s.beginNested();
  for (const id of ids) s.varint32(u32(id, "config member"));
  s.endNested(nested);
}

// ---- decoding ------------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder();

/**
 * The core messages of an encoded MessageBatch; throws MalformedMessageError when the bytes are
 * not a MessageBatch, or carry a message raft-fields.ts refuses.
 */
export function decodeBatch(bytes: Uint8Array): PeerBatch {
  const r = new Reader(bytes, 0, bytes.length);
  let clusterToken = "";
  let from = 0;
  const messages: GroupMessageFields[] = [];
  while (r.more()) {
    const tag = r.varint32();
    switch (tag) {
      case 0x0a:
        clusterToken = r.string();
        break;
      case 0x10:
        from = r.varint32();
        break;
      case 0x1a:
        messages.push(readGroupMessage(r.nested()));
        break;
      default:
        r.skip(tag);
    }
  }
  return batchFromFields(clusterToken, from, messages);
}

function readGroupMessage(r: Reader): GroupMessageFields {
  let group = 0;
  let message: MessageFields | undefined;
  while (r.more()) {
    const tag = r.varint32();
    if (tag === 0x08) group = r.varint32();
    else if (tag === 0x12) message = readMessageFields(r.nested());
    else r.skip(tag);
  }
  return { group, message };
}

function readMessageFields(r: Reader): MessageFields {
  const f: MessageFields = {
    type: 0,
    from: 0,
    to: 0,
    term: 0,
    lastLogIndex: 0,
    lastLogTerm: 0,
    transfer: false,
    reject: false,
    prevIndex: 0,
    prevTerm: 0,
    entries: [],
    commit: 0,
    index: 0,
    hintIndex: 0,
    hintTerm: 0,
    readSeq: 0,
    snapshot: undefined,
    context: "",
  };
  while (r.more()) {
    const tag = r.varint32();
    switch (tag) {
      case 0x08:
        f.type = r.varint32();
        break;
      case 0x10:
        f.from = r.varint32();
        break;
      case 0x18:
        f.to = r.varint32();
        break;
      case 0x20:
        f.term = r.varint();
        break;
      case 0x28:
        f.lastLogIndex = r.varint();
        break;
      case 0x30:
        f.lastLogTerm = r.varint();
        break;
      case 0x38:
        f.transfer = r.bool();
        break;
      case 0x40:
        f.reject = r.bool();
        break;
      case 0x48:
        f.prevIndex = r.varint();
        break;
      case 0x50:
        f.prevTerm = r.varint();
        break;
      case 0x5a:
        f.entries.push(readEntryFields(r.nested()));
        break;
      case 0x60:
        f.commit = r.varint();
        break;
      case 0x68:
        f.index = r.varint();
        break;
      case 0x70:
        f.hintIndex = r.varint();
        break;
      case 0x78:
        f.hintTerm = r.varint();
        break;
      case 0x80:
        f.readSeq = r.varint();
        break;
      case 0x8a:
        f.snapshot = readSnapshotMetaFields(r.nested());
        break;
      case 0x92:
        f.context = r.string();
        break;
      default:
        r.skip(tag);
    }
  }
  return f;
}

function readEntryFields(r: Reader): EntryFields {
  const e: EntryFields = { type: 0, term: 0, index: 0, data: EMPTY, change: undefined, config: undefined };
  while (r.more()) {
    const tag = r.varint32();
    switch (tag) {
      case 0x08:
        e.type = r.varint32();
        break;
      case 0x10:
        e.term = r.varint();
        break;
      case 0x18:
        e.index = r.varint();
        break;
      case 0x22:
        e.data = r.bytes();
        break;
      case 0x2a: {
        const c = r.nested();
        const change = { type: 0, node: 0 };
        while (c.more()) {
          const t = c.varint32();
          if (t === 0x08) change.type = c.varint32();
          else if (t === 0x10) change.node = c.varint32();
          else c.skip(t);
        }
        e.change = change;
        break;
      }
      case 0x32:
        e.config = readConfig(r.nested());
        break;
      default:
        r.skip(tag);
    }
  }
  return e;
}

function readSnapshotMetaFields(r: Reader): SnapshotMetaFields {
  const meta: SnapshotMetaFields = { index: 0, term: 0, config: undefined };
  while (r.more()) {
    const tag = r.varint32();
    if (tag === 0x08) meta.index = r.varint();
    else if (tag === 0x10) meta.term = r.varint();
    else if (tag === 0x1a) meta.config = readConfig(r.nested());
    else r.skip(tag);
  }
  return meta;
}

function readConfig(r: Reader): Config {
  const voters: NodeId[] = [];
  const learners: NodeId[] = [];
  while (r.more()) {
    const tag = r.varint32();
    const field = tag >>> 3;
    if (field === 1 || field === 2) {
      const into = field === 1 ? voters : learners;
      if ((tag & 7) === WIRE_LEN) {
        const packed = r.nested();
        while (packed.more()) into.push(nodeId(packed.varint32()));
      } else if ((tag & 7) === WIRE_VARINT) into.push(nodeId(r.varint32()));
      else r.skip(tag);
    } else r.skip(tag);
  }
  return { voters, learners };
}

/** Reads protobuf fields from bytes[pos, end); every error is a MalformedMessageError. */
class Reader {
  constructor(
    private readonly buf: Uint8Array,
    private pos: number,
    private readonly end: number,
  ) {}

  more(): boolean {
    return this.pos < this.end;
  }

  /** A varint's low 32 bits (uint32 and enum fields, tags), as protobuf truncates them. */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw truncated();
      const byte = buf[this.pos++] as number;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
    }
    // Bits above 32: skipped, as protobuf's readers do for 32-bit fields.
    for (let i = 5; i < 10; i++) {
      if (this.pos >= this.end) throw truncated();
      if ((buf[this.pos++] as number) < 0x80) return result >>> 0;
    }
    throw malformed("MessageBatch", "a varint longer than 10 bytes");
  }

  /**
   * A uint64 as a number: exact up to 2^53 - 1, and above it some number larger than
   * Number.MAX_SAFE_INTEGER (which the caller refuses), never a smaller one.
   */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw truncated();
      const byte = buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw malformed("MessageBatch", "a varint longer than 10 bytes");
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** A length-delimited field's bytes: a view of the input, not a copy. */
  bytes(): Uint8Array {
    const length = this.varint32();
    const start = this.pos;
    if (length > this.end - start) throw truncated();
    this.pos += length;
    // A plain Uint8Array view even of a Buffer: what a decoded entry holds is the same type
    // whatever the input was.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, length);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A reader over a nested message's bytes; this one moves past them. */
  nested(): Reader {
    const length = this.varint32();
    const start = this.pos;
    if (length > this.end - start) throw truncated();
    this.pos += length;
    return new Reader(this.buf, start, this.pos);
  }

  /** Skips an unknown field whose tag was just read. */
  skip(tag: number): void {
    const field = tag >>> 3;
    if (field === 0) throw malformed("MessageBatch", "a field numbered 0");
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.advance(this.varint32());
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const inner = this.varint32();
          if ((inner & 7) === WIRE_END_GROUP) {
            if (inner >>> 3 !== field) throw malformed("MessageBatch", "a group ended by another field");
            return;
          }
          this.skip(inner);
        }
      default:
        throw malformed("MessageBatch", `wire type ${tag & 7} of field ${field}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw truncated();
    this.pos += n;
  }
}

function truncated(): MalformedMessageError {
  return malformed("MessageBatch", "the bytes end in the middle of a field");
}
