/**
 * The KV.Batch stream's messages (proto/tinyo/v1/kv.proto: BatchRequest, BatchResponse and the
 * requests, responses, ResponseHeader and BatchError they carry) encoded and decoded by hand,
 * for the hot path of the client and of the node.
 *
 * Why: protobuf-es's reflective create/toBinary/fromBinary cost more CPU per request than the
 * rest of the stream's machinery together (a profile of a loaded node: ~4% of the busy
 * samples; the bench client spent ~0.3 ms of CPU per operation). Here a message costs one
 * sizing pass and one writing pass into one buffer, or one reading pass.
 *
 * The objects are protobuf-es's own: protobuf-es v2 messages are plain objects (`$typeName`,
 * every implicit-presence field, message fields absent when unset, unknown fields in
 * `$unknown`), and decoding builds exactly what fromBinary builds, bytes fields as views of the
 * input (no copy). The bytes are exactly toBinary's: fields in number order, zero values
 * omitted, unknown fields written back after the known ones; a field left out of the object
 * encodes as its zero value, as create() would have filled it in. Decoding accepts any valid
 * encoding (fields in any order, repeated fields last-wins, a message field or oneof member
 * repeated merged, unknown fields of every wire type kept); it is stricter than protobuf-es on
 * input no encoder produces (a known field with another wire type, a field that overruns its
 * message), which it refuses with MalformedKvMessageError. test/client/batch-codec.test.ts
 * compares both over random messages.
 */

import type {
  BatchError,
  BatchRequest,
  BatchResponse,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  ResponseHeader,
  ScanRequest,
  ScanResponse,
} from "../gen/tinyo/v1/kv_pb.js";

/** Bytes that are not a valid encoding of the expected message. */
export class MalformedKvMessageError extends Error {
  override name = "MalformedKvMessageError";
}

/** An unknown field as protobuf-es keeps it: number, wire type, and the bytes after the tag. */
interface UnknownField {
  readonly no: number;
  readonly wireType: number;
  readonly data: Uint8Array;
}

interface WithUnknown {
  $unknown?: UnknownField[];
}

const EMPTY = new Uint8Array(0);

const VARINT = 0;
const BIT64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const BIT32 = 5;

// ---- encoding ------------------------------------------------------------------------------

/** The BatchRequest's bytes, after `reserve` bytes left for the caller (a stream envelope's 5). */
export function encodeBatchRequest(message: BatchRequest, reserve = 0): Uint8Array {
  const w = new Writer(reserve + sizeBatchRequest(message), reserve);
  writeBatchRequest(w, message);
  return w.buf;
}

/** The BatchResponse's bytes, after `reserve` bytes left for the caller. */
export function encodeBatchResponse(message: BatchResponse, reserve = 0): Uint8Array {
  const w = new Writer(reserve + sizeBatchResponse(message), reserve);
  writeBatchResponse(w, message);
  return w.buf;
}

class Writer {
  readonly buf: Buffer;
  pos: number;

  constructor(size: number, start: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = start;
  }

  varint32(n: number): void {
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.pos++] = n;
  }

  /** A 64-bit varint given as its low and high 32 bits (unsigned). */
  varint64(lo: number, hi: number): void {
    const buf = this.buf;
    while (hi !== 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  raw(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  bytesField(tag: number, data: Uint8Array | undefined): void {
    if (data === undefined || data.length === 0) return;
    this.buf[this.pos++] = tag;
    this.varint32(data.length);
    this.raw(data);
  }

  uint32Field(tag: number, n: number | undefined): void {
    if (n === undefined || n === 0) return;
    this.buf[this.pos++] = tag;
    this.varint32(n);
  }

  int32Field(tag: number, n: number | undefined): void {
    if (n === undefined || n === 0) return;
    this.buf[this.pos++] = tag;
    if (n > 0) this.varint32(n);
    else this.varint64(n >>> 0, 0xffffffff); // sign-extended to 64 bits, as protobuf does
  }

  uint64Field(tag: number, n: bigint | undefined): void {
    if (n === undefined || n === 0n) return;
    this.buf[this.pos++] = tag;
    if (n <= 0xffffffffn) this.varint32(Number(n));
    else this.varint64(Number(n & 0xffffffffn), Number(n >> 32n));
  }

  boolField(tag: number, value: boolean | undefined): void {
    if (!value) return;
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
  }

  stringField(tag: number, text: string | undefined, length: number): void {
    if (text === undefined || length === 0) return;
    this.buf[this.pos++] = tag;
    this.varint32(length);
    this.buf.write(text, this.pos, length, "utf8");
    this.pos += length;
  }

  /** Opens a nested message field: its tag and length. */
  nested(tag: number, size: number): void {
    this.buf[this.pos++] = tag;
    this.varint32(size);
  }

  unknown(fields: readonly UnknownField[] | undefined): void {
    if (fields === undefined) return;
    for (const { no, wireType, data } of fields) {
      this.varint32(no * 8 + wireType);
      this.raw(data);
    }
  }
}

function varint32Size(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function checkUint32(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff))
    throw new RangeError(`${what} ${n} is not a uint32`);
  return n;
}

function checkUint64(n: bigint, what: string): bigint {
  if (n < 0n || n > 0xffffffffffffffffn) throw new RangeError(`${what} ${n} is not a uint64`);
  return n;
}

// Fields left out (undefined) count as zero values, as create() fills them in: a caller may pass
// a message's init shape.
const bytesSize = (data: Uint8Array | undefined) =>
  data === undefined || data.length === 0 ? 0 : 1 + varint32Size(data.length) + data.length;
const uint32Size = (n: number | undefined, what: string) =>
  n === undefined || checkUint32(n, what) === 0 ? 0 : 1 + varint32Size(n);
const boolSize = (value: boolean | undefined) => (value ? 2 : 0);
const stringLength = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, "utf8"));
const nestedSize = (size: number) => 1 + varint32Size(size) + size;

function int32Size(n: number | undefined, what: string): number {
  if (n === undefined) return 0;
  if (!(Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff)) {
    throw new RangeError(`${what} ${n} is not an int32`);
  }
  return n === 0 ? 0 : n > 0 ? 1 + varint32Size(n) : 11;
}

function uint64Size(n: bigint | undefined, what: string): number {
  if (n === undefined || checkUint64(n, what) === 0n) return 0;
  if (n <= 0xffffffffn) return 1 + varint32Size(Number(n));
  let size = 1;
  for (let rest = n; rest > 0x7fn; rest >>= 7n) size++;
  return 1 + size;
}

function unknownSize(fields: readonly UnknownField[] | undefined): number {
  if (fields === undefined) return 0;
  let size = 0;
  for (const { no, wireType, data } of fields) size += varint32Size(no * 8 + wireType) + data.length;
  return size;
}

function sizeHeader(h: ResponseHeader): number {
  return (
    uint32Size(h.partition, "partition") +
    uint32Size(h.leader, "leader") +
    uint64Size(h.term, "term") +
    uint64Size(h.index, "index") +
    unknownSize(h.$unknown)
  );
}

function writeHeader(w: Writer, tag: number, h: ResponseHeader): void {
  w.nested(tag, sizeHeader(h));
  w.uint32Field(0x08, h.partition);
  w.uint32Field(0x10, h.leader);
  w.uint64Field(0x18, h.term);
  w.uint64Field(0x20, h.index);
  w.unknown(h.$unknown);
}

const headerFieldSize = (h: ResponseHeader | undefined) => (h === undefined ? 0 : nestedSize(sizeHeader(h)));

function sizePutRequest(m: PutRequest): number {
  return bytesSize(m.key) + bytesSize(m.value) + bytesSize(m.requestId) + unknownSize(m.$unknown);
}

function sizeGetRequest(m: GetRequest): number {
  return bytesSize(m.key) + int32Size(m.consistency, "consistency") + unknownSize(m.$unknown);
}

function sizeDeleteRequest(m: DeleteRequest): number {
  return bytesSize(m.key) + bytesSize(m.requestId) + unknownSize(m.$unknown);
}

function sizeScanRequest(m: ScanRequest): number {
  return (
    uint32Size(m.partition, "partition") +
    bytesSize(m.start) +
    bytesSize(m.end) +
    bytesSize(m.prefix) +
    uint32Size(m.limit, "limit") +
    int32Size(m.consistency, "consistency") +
    unknownSize(m.$unknown)
  );
}

function sizeBatchRequest(m: BatchRequest): number {
  let size = uint64Size(m.id, "id") + unknownSize(m.$unknown);
  const r = m.request;
  switch (r.case) {
    case "put":
      size += nestedSize(sizePutRequest(r.value));
      break;
    case "get":
      size += nestedSize(sizeGetRequest(r.value));
      break;
    case "delete":
      size += nestedSize(sizeDeleteRequest(r.value));
      break;
    case "scan":
      size += nestedSize(sizeScanRequest(r.value));
      break;
  }
  return size;
}

function writeBatchRequest(w: Writer, m: BatchRequest): void {
  w.uint64Field(0x08, m.id);
  const r = m.request;
  switch (r.case) {
    case "put": {
      const v = r.value;
      w.nested(0x12, sizePutRequest(v));
      w.bytesField(0x0a, v.key);
      w.bytesField(0x12, v.value);
      w.bytesField(0x1a, v.requestId);
      w.unknown(v.$unknown);
      break;
    }
    case "get": {
      const v = r.value;
      w.nested(0x1a, sizeGetRequest(v));
      w.bytesField(0x0a, v.key);
      w.int32Field(0x10, v.consistency);
      w.unknown(v.$unknown);
      break;
    }
    case "delete": {
      const v = r.value;
      w.nested(0x22, sizeDeleteRequest(v));
      w.bytesField(0x0a, v.key);
      w.bytesField(0x12, v.requestId);
      w.unknown(v.$unknown);
      break;
    }
    case "scan": {
      const v = r.value;
      w.nested(0x2a, sizeScanRequest(v));
      w.uint32Field(0x08, v.partition);
      w.bytesField(0x12, v.start);
      w.bytesField(0x1a, v.end);
      w.bytesField(0x22, v.prefix);
      w.uint32Field(0x28, v.limit);
      w.int32Field(0x30, v.consistency);
      w.unknown(v.$unknown);
      break;
    }
  }
  w.unknown(m.$unknown);
}

function sizePutResponse(m: PutResponse): number {
  return headerFieldSize(m.header) + unknownSize(m.$unknown);
}

function sizeGetResponse(m: GetResponse): number {
  return headerFieldSize(m.header) + boolSize(m.found) + bytesSize(m.value) + unknownSize(m.$unknown);
}

function sizeDeleteResponse(m: DeleteResponse): number {
  return headerFieldSize(m.header) + boolSize(m.existed) + unknownSize(m.$unknown);
}

function sizeKeyValue(m: KeyValue): number {
  return bytesSize(m.key) + bytesSize(m.value) + unknownSize(m.$unknown);
}

function sizeScanResponse(m: ScanResponse): number {
  let size = headerFieldSize(m.header) + boolSize(m.more) + bytesSize(m.resumeKey) + unknownSize(m.$unknown);
  for (const pair of m.pairs ?? []) size += nestedSize(sizeKeyValue(pair));
  return size;
}

function sizeBatchError(m: BatchError): number {
  const length = stringLength(m.message);
  return (
    uint32Size(m.code, "code") +
    (length === 0 ? 0 : 1 + varint32Size(length) + length) +
    headerFieldSize(m.header) +
    unknownSize(m.$unknown)
  );
}

function sizeBatchResponse(m: BatchResponse): number {
  let size = uint64Size(m.id, "id") + unknownSize(m.$unknown);
  const r = m.response;
  switch (r.case) {
    case "put":
      size += nestedSize(sizePutResponse(r.value));
      break;
    case "get":
      size += nestedSize(sizeGetResponse(r.value));
      break;
    case "delete":
      size += nestedSize(sizeDeleteResponse(r.value));
      break;
    case "scan":
      size += nestedSize(sizeScanResponse(r.value));
      break;
    case "error":
      size += nestedSize(sizeBatchError(r.value));
      break;
  }
  return size;
}

function writeBatchResponse(w: Writer, m: BatchResponse): void {
  w.uint64Field(0x08, m.id);
  const r = m.response;
  switch (r.case) {
    case "put": {
      const v = r.value;
      w.nested(0x12, sizePutResponse(v));
      if (v.header) writeHeader(w, 0x0a, v.header);
      w.unknown(v.$unknown);
      break;
    }
    case "get": {
      const v = r.value;
      w.nested(0x1a, sizeGetResponse(v));
      if (v.header) writeHeader(w, 0x0a, v.header);
      w.boolField(0x10, v.found);
      w.bytesField(0x1a, v.value);
      w.unknown(v.$unknown);
      break;
    }
    case "delete": {
      const v = r.value;
      w.nested(0x22, sizeDeleteResponse(v));
      if (v.header) writeHeader(w, 0x0a, v.header);
      w.boolField(0x10, v.existed);
      w.unknown(v.$unknown);
      break;
    }
    case "scan": {
      const v = r.value;
      w.nested(0x2a, sizeScanResponse(v));
      if (v.header) writeHeader(w, 0x0a, v.header);
      for (const pair of v.pairs ?? []) {
        w.nested(0x12, sizeKeyValue(pair));
        w.bytesField(0x0a, pair.key);
        w.bytesField(0x12, pair.value);
        w.unknown(pair.$unknown);
      }
      w.boolField(0x18, v.more);
      w.bytesField(0x22, v.resumeKey);
      w.unknown(v.$unknown);
      break;
    }
    case "error": {
      const v = r.value;
      w.nested(0x32, sizeBatchError(v));
      w.uint32Field(0x08, v.code);
      w.stringField(0x12, v.message, stringLength(v.message));
      if (v.header) writeHeader(w, 0x1a, v.header);
      w.unknown(v.$unknown);
      break;
    }
  }
  w.unknown(m.$unknown);
}

// ---- decoding ------------------------------------------------------------------------------

/** A BatchRequest, as fromBinary(BatchRequestSchema, bytes) gives it. */
export function decodeBatchRequest(bytes: Uint8Array): BatchRequest {
  const r = new Reader(bytes);
  return readBatchRequest(r, bytes.length);
}

/** A BatchResponse, as fromBinary(BatchResponseSchema, bytes) gives it. */
export function decodeBatchResponse(bytes: Uint8Array): BatchResponse {
  const r = new Reader(bytes);
  return readBatchResponse(r, bytes.length);
}

const utf8 = new TextDecoder("utf-8", { fatal: true }); // as protobuf-es validates proto3 strings

class Reader {
  pos = 0;
  /** The field number and wire type of the last tag read. */
  no = 0;
  wireType = 0;

  constructor(readonly buf: Uint8Array) {}

  /** Reads a tag (as protobuf-es: at most a uint32, field number > 0, wire type <= 5). */
  tag(end: number): number {
    const start = this.pos;
    const tag = this.varint32(end);
    const read = this.pos - start;
    if (read > 5 || (read === 5 && (this.buf[this.pos - 1] as number) > 0x0f)) {
      throw new MalformedKvMessageError("a field tag overflows 32 bits");
    }
    this.no = tag >>> 3;
    this.wireType = tag & 7;
    if (this.no === 0 || this.wireType > 5) {
      throw new MalformedKvMessageError(
        `an illegal field tag (field ${this.no}, wire type ${this.wireType})`,
      );
    }
    return tag;
  }

  private byte(end: number): number {
    if (this.pos >= end) throw new MalformedKvMessageError("a varint runs past the end of its message");
    return this.buf[this.pos++] as number;
  }

  /** A varint's low 32 bits, unsigned (protobuf-es's uint32). */
  varint32(end: number): number {
    let b = this.byte(end);
    if (b < 0x80) return b;
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      b = this.byte(end);
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    b = this.byte(end);
    result |= (b & 0x0f) << 28;
    for (let read = 5; b >= 0x80; read++) {
      if (read === 10) throw new MalformedKvMessageError("a varint is longer than 10 bytes");
      b = this.byte(end);
    }
    return result >>> 0;
  }

  /** A varint as protobuf-es's varint64read takes it: [low 32 bits, high 32 bits]. */
  varint64(end: number): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = this.byte(end);
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo, hi];
    }
    const middle = this.byte(end);
    lo |= (middle & 0x0f) << 28;
    hi = (middle & 0x70) >> 4;
    if (middle < 0x80) return [lo, hi];
    for (let shift = 3; shift <= 31; shift += 7) {
      const b = this.byte(end);
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return [lo, hi];
    }
    throw new MalformedKvMessageError("a varint is longer than 10 bytes");
  }

  uint64(end: number): bigint {
    const [lo, hi] = this.varint64(end);
    if (hi === 0) return BigInt(lo >>> 0);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  bool(end: number): boolean {
    const [lo, hi] = this.varint64(end);
    return lo !== 0 || hi !== 0;
  }

  /** The end of a length-delimited field that starts here (after reading its length). */
  lengthEnd(end: number): number {
    const length = this.varint32(end);
    if (length > end - this.pos)
      throw new MalformedKvMessageError("a field runs past the end of its message");
    return this.pos + length;
  }

  bytes(end: number): Uint8Array {
    const stop = this.lengthEnd(end);
    const data = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return data;
  }

  string(end: number): string {
    const data = this.bytes(end);
    try {
      return utf8.decode(data);
    } catch {
      throw new MalformedKvMessageError("a string is not valid UTF-8");
    }
  }

  /** Checks the wire type of the field just tagged. */
  expect(wireType: number): void {
    if (this.wireType !== wireType) {
      throw new MalformedKvMessageError(`field ${this.no} has wire type ${this.wireType}, not ${wireType}`);
    }
  }

  /**
   * The field just tagged, which is not one of the message's `known` fields (numbered 1 to
   * known): kept in the message's $unknown, as protobuf-es keeps it.
   */
  unknown(end: number, message: WithUnknown, known: number): void {
    const { no, wireType } = this;
    if (no <= known) throw new MalformedKvMessageError(`field ${no} has the wrong wire type ${wireType}`);
    const start = this.pos;
    this.skip(end, wireType, no, 32);
    const field = { no, wireType, data: this.buf.subarray(start, this.pos) };
    if (message.$unknown === undefined) message.$unknown = [field];
    else message.$unknown.push(field);
  }

  private skip(end: number, wireType: number, no: number, depth: number): void {
    switch (wireType) {
      case VARINT:
        this.varint64(end);
        return;
      case BIT64:
      case BIT32: {
        const size = wireType === BIT64 ? 8 : 4;
        if (size > end - this.pos)
          throw new MalformedKvMessageError("a field runs past the end of its message");
        this.pos += size;
        return;
      }
      case LEN:
        this.pos = this.lengthEnd(end);
        return;
      case START_GROUP:
        if (depth === 0) throw new MalformedKvMessageError("groups nested too deep");
        for (;;) {
          this.tag(end);
          if (this.wireType === END_GROUP) {
            if (this.no !== no) throw new MalformedKvMessageError("a group ends with another field's tag");
            return;
          }
          this.skip(end, this.wireType, this.no, depth - 1);
        }
      default:
        throw new MalformedKvMessageError(`an unexpected end-group tag (field ${no})`);
    }
  }

  /** The end of the nested message field just tagged. */
  nested(end: number): number {
    this.expect(LEN);
    return this.lengthEnd(end);
  }
}

function newHeader(): ResponseHeader {
  return { $typeName: "tinyo.v1.ResponseHeader", partition: 0, leader: 0, term: 0n, index: 0n };
}

function readHeader(r: Reader, end: number, m: ResponseHeader = newHeader()): ResponseHeader {
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x08:
        m.partition = r.varint32(end);
        break;
      case 0x10:
        m.leader = r.varint32(end);
        break;
      case 0x18:
        m.term = r.uint64(end);
        break;
      case 0x20:
        m.index = r.uint64(end);
        break;
      default:
        r.unknown(end, m, 4);
    }
  }
  return m;
}

function readPutRequest(r: Reader, end: number, m: PutRequest = newPutRequest()): PutRequest {
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x0a:
        m.key = r.bytes(end);
        break;
      case 0x12:
        m.value = r.bytes(end);
        break;
      case 0x1a:
        m.requestId = r.bytes(end);
        break;
      default:
        r.unknown(end, m, 3);
    }
  }
  return m;
}

function newPutRequest(): PutRequest {
  return { $typeName: "tinyo.v1.PutRequest", key: EMPTY, value: EMPTY, requestId: EMPTY };
}

function readGetRequest(r: Reader, end: number, m: GetRequest = newGetRequest()): GetRequest {
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x0a:
        m.key = r.bytes(end);
        break;
      case 0x10:
        m.consistency = r.varint32(end) | 0;
        break;
      default:
        r.unknown(end, m, 2);
    }
  }
  return m;
}

function newGetRequest(): GetRequest {
  return { $typeName: "tinyo.v1.GetRequest", key: EMPTY, consistency: 0 };
}

function readDeleteRequest(r: Reader, end: number, m: DeleteRequest = newDeleteRequest()): DeleteRequest {
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x0a:
        m.key = r.bytes(end);
        break;
      case 0x12:
        m.requestId = r.bytes(end);
        break;
      default:
        r.unknown(end, m, 2);
    }
  }
  return m;
}

function newDeleteRequest(): DeleteRequest {
  return { $typeName: "tinyo.v1.DeleteRequest", key: EMPTY, requestId: EMPTY };
}

function readScanRequest(r: Reader, end: number, m: ScanRequest = newScanRequest()): ScanRequest {
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x08:
        m.partition = r.varint32(end);
        break;
      case 0x12:
        m.start = r.bytes(end);
        break;
      case 0x1a:
        m.end = r.bytes(end);
        break;
      case 0x22:
        m.prefix = r.bytes(end);
        break;
      case 0x28:
        m.limit = r.varint32(end);
        break;
      case 0x30:
        m.consistency = r.varint32(end) | 0;
        break;
      default:
        r.unknown(end, m, 6);
    }
  }
  return m;
}

function newScanRequest(): ScanRequest {
  return {
    $typeName: "tinyo.v1.ScanRequest",
    partition: 0,
    start: EMPTY,
    end: EMPTY,
    prefix: EMPTY,
    limit: 0,
    consistency: 0,
  };
}

function readBatchRequest(r: Reader, end: number): BatchRequest {
  const m: BatchRequest = { $typeName: "tinyo.v1.BatchRequest", id: 0n, request: { case: undefined } };
  while (r.pos < end) {
    r.tag(end);
    const no = r.no;
    if (no === 1) {
      r.expect(VARINT);
      m.id = r.uint64(end);
      continue;
    }
    if (no > 5) {
      r.unknown(end, m, 5);
      continue;
    }
    const stop = r.nested(end);
    const current = m.request;
    // A oneof member repeated merges into the one set; another member replaces it.
    switch (no) {
      case 2:
        m.request = {
          case: "put",
          value: readPutRequest(r, stop, current.case === "put" ? current.value : undefined),
        };
        break;
      case 3:
        m.request = {
          case: "get",
          value: readGetRequest(r, stop, current.case === "get" ? current.value : undefined),
        };
        break;
      case 4:
        m.request = {
          case: "delete",
          value: readDeleteRequest(r, stop, current.case === "delete" ? current.value : undefined),
        };
        break;
      default:
        m.request = {
          case: "scan",
          value: readScanRequest(r, stop, current.case === "scan" ? current.value : undefined),
        };
    }
  }
  return m;
}

/** A message field of the message being read: merged into `current` when already set. */
function readHeaderField(r: Reader, end: number, current: ResponseHeader | undefined): ResponseHeader {
  return readHeader(r, r.nested(end), current);
}

function readPutResponse(r: Reader, end: number, m: PutResponse = newPutResponse()): PutResponse {
  while (r.pos < end) {
    r.tag(end);
    if (r.no === 1) m.header = readHeaderField(r, end, m.header);
    else r.unknown(end, m, 1);
  }
  return m;
}

function newPutResponse(): PutResponse {
  return { $typeName: "tinyo.v1.PutResponse" };
}

function readGetResponse(r: Reader, end: number, m: GetResponse = newGetResponse()): GetResponse {
  while (r.pos < end) {
    r.tag(end);
    switch (r.no) {
      case 1:
        m.header = readHeaderField(r, end, m.header);
        break;
      case 2:
        r.expect(VARINT);
        m.found = r.bool(end);
        break;
      case 3:
        r.expect(LEN);
        m.value = r.bytes(end);
        break;
      default:
        r.unknown(end, m, 3);
    }
  }
  return m;
}

function newGetResponse(): GetResponse {
  return { $typeName: "tinyo.v1.GetResponse", found: false, value: EMPTY };
}

function readDeleteResponse(r: Reader, end: number, m: DeleteResponse = newDeleteResponse()): DeleteResponse {
  while (r.pos < end) {
    r.tag(end);
    switch (r.no) {
      case 1:
        m.header = readHeaderField(r, end, m.header);
        break;
      case 2:
        r.expect(VARINT);
        m.existed = r.bool(end);
        break;
      default:
        r.unknown(end, m, 2);
    }
  }
  return m;
}

function newDeleteResponse(): DeleteResponse {
  return { $typeName: "tinyo.v1.DeleteResponse", existed: false };
}

function readKeyValue(r: Reader, end: number): KeyValue {
  const m: KeyValue = { $typeName: "tinyo.v1.KeyValue", key: EMPTY, value: EMPTY };
  while (r.pos < end) {
    switch (r.tag(end)) {
      case 0x0a:
        m.key = r.bytes(end);
        break;
      case 0x12:
        m.value = r.bytes(end);
        break;
      default:
        r.unknown(end, m, 2);
    }
  }
  return m;
}

function readScanResponse(r: Reader, end: number, m: ScanResponse = newScanResponse()): ScanResponse {
  while (r.pos < end) {
    r.tag(end);
    switch (r.no) {
      case 1:
        m.header = readHeaderField(r, end, m.header);
        break;
      case 2:
        m.pairs.push(readKeyValue(r, r.nested(end)));
        break;
      case 3:
        r.expect(VARINT);
        m.more = r.bool(end);
        break;
      case 4:
        r.expect(LEN);
        m.resumeKey = r.bytes(end);
        break;
      default:
        r.unknown(end, m, 4);
    }
  }
  return m;
}

function newScanResponse(): ScanResponse {
  return { $typeName: "tinyo.v1.ScanResponse", pairs: [], more: false, resumeKey: EMPTY };
}

function readBatchError(r: Reader, end: number, m: BatchError = newBatchError()): BatchError {
  while (r.pos < end) {
    r.tag(end);
    switch (r.no) {
      case 1:
        r.expect(VARINT);
        m.code = r.varint32(end);
        break;
      case 2:
        r.expect(LEN);
        m.message = r.string(end);
        break;
      case 3:
        m.header = readHeaderField(r, end, m.header);
        break;
      default:
        r.unknown(end, m, 3);
    }
  }
  return m;
}

function newBatchError(): BatchError {
  return { $typeName: "tinyo.v1.BatchError", code: 0, message: "" };
}

function readBatchResponse(r: Reader, end: number): BatchResponse {
  const m: BatchResponse = { $typeName: "tinyo.v1.BatchResponse", id: 0n, response: { case: undefined } };
  while (r.pos < end) {
    r.tag(end);
    const no = r.no;
    if (no === 1) {
      r.expect(VARINT);
      m.id = r.uint64(end);
      continue;
    }
    if (no > 6) {
      r.unknown(end, m, 6);
      continue;
    }
    const stop = r.nested(end);
    const current = m.response;
    switch (no) {
      case 2:
        m.response = {
          case: "put",
          value: readPutResponse(r, stop, current.case === "put" ? current.value : undefined),
        };
        break;
      case 3:
        m.response = {
          case: "get",
          value: readGetResponse(r, stop, current.case === "get" ? current.value : undefined),
        };
        break;
      case 4:
        m.response = {
          case: "delete",
          value: readDeleteResponse(r, stop, current.case === "delete" ? current.value : undefined),
        };
        break;
      case 5:
        m.response = {
          case: "scan",
          value: readScanResponse(r, stop, current.case === "scan" ? current.value : undefined),
        };
        break;
      default:
        m.response = {
          case: "error",
          value: readBatchError(r, stop, current.case === "error" ? current.value : undefined),
        };
    }
  }
  return m;
}
