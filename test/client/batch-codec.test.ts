/**
 * The hand-written KV.Batch codec (src/client/batch-codec.ts) against protobuf-es, the
 * reference: random encodings of BatchRequest and BatchResponse (fields in any order, repeated,
 * unknown fields of every wire type, nested messages merged, numbers at varint boundaries,
 * multi-byte and unpaired-surrogate strings) decode to what fromBinary gives, and encoding what
 * was decoded gives toBinary's bytes; garbled input is refused with MalformedKvMessageError, or
 * else decoded as protobuf-es decodes it. Seeded, so a failure replays (the seed is in the name).
 */

import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  decodeBatchRequest,
  decodeBatchResponse,
  encodeBatchRequest,
  encodeBatchResponse,
  MalformedKvMessageError,
} from "../../src/client/batch-codec.js";
import {
  type BatchRequest,
  BatchRequestSchema,
  type BatchResponse,
  BatchResponseSchema,
  Consistency,
} from "../../src/gen/tinyo/v1/kv_pb.js";
import { SeededGen } from "../seeded-gen.js";

class Gen extends SeededGen {
  u32(): number {
    return this.pick([
      0,
      1,
      this.int(128),
      127,
      128,
      16383,
      16384,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      this.int(2 ** 32),
    ]);
  }
  i32(): number {
    return this.pick([0, 1, 2, 3, this.int(1000), -1, -(2 ** 31), 2 ** 31 - 1, -this.int(2 ** 31)]);
  }
  u64(): bigint {
    return this.pick([
      0n,
      1n,
      BigInt(this.int(1000)),
      2n ** 32n - 1n,
      2n ** 32n,
      2n ** 35n,
      2n ** 53n - 1n,
      2n ** 63n,
      2n ** 64n - 1n,
      (BigInt(this.int(2 ** 32)) << 32n) | BigInt(this.int(2 ** 32)),
    ]);
  }
  string(): string {
    const parts = ["", "a", "é", "日本", "😀", "\ud800", "\udc00x", "\ufeff", "no leader", "\u0000"];
    let out = "";
    for (let i = this.int(5); i > 0; i--) out += this.pick(parts);
    return out;
  }
}

/** One field of `desc` with a random value, as any protobuf encoder may write it. */
function writeField(g: Gen, w: BinaryWriter, field: DescField, depth: number): void {
  if (field.fieldKind === "message" || field.fieldKind === "list") {
    const message = field.fieldKind === "message" ? field.message : field.message;
    if (message === undefined) throw new Error(`unexpected list field ${field.name}`);
    w.tag(field.number, WireType.LengthDelimited).bytes(randomEncoding(g, message, depth + 1));
    return;
  }
  if (field.fieldKind === "enum") {
    w.tag(field.number, WireType.Varint).int32(g.i32());
    return;
  }
  if (field.fieldKind !== "scalar") throw new Error(`unexpected field kind ${field.fieldKind}`);
  switch (field.scalar) {
    case ScalarType.UINT32:
      w.tag(field.number, WireType.Varint).uint32(g.u32());
      return;
    case ScalarType.UINT64:
      w.tag(field.number, WireType.Varint).uint64(g.u64());
      return;
    case ScalarType.BOOL:
      // Any varint means true unless all zero; encoders write 0 or 1.
      w.tag(field.number, WireType.Varint).uint64(g.pick([0n, 1n, 1n, 2n ** 40n]));
      return;
    case ScalarType.BYTES:
      w.tag(field.number, WireType.LengthDelimited).bytes(g.bytes(g.pick([0, 3, 16, 300])));
      return;
    case ScalarType.STRING:
      w.tag(field.number, WireType.LengthDelimited).string(g.string());
      return;
    default:
      throw new Error(`unexpected scalar ${field.scalar}`);
  }
}

/** A field the message does not know, of any wire type. */
function writeUnknown(g: Gen, w: BinaryWriter, desc: DescMessage, depth: number): void {
  const max = Math.max(...desc.fields.map((f) => f.number));
  const no = g.pick([max + 1, max + 2 + g.int(30), 1000, 2 ** 29 - 1]);
  switch (g.int(5)) {
    case 0:
      w.tag(no, WireType.Varint).uint64(g.u64());
      return;
    case 1:
      w.tag(no, WireType.Bit64).fixed64(g.u64());
      return;
    case 2:
      w.tag(no, WireType.Bit32).fixed32(g.u32());
      return;
    case 3:
      w.tag(no, WireType.LengthDelimited).bytes(g.bytes(20));
      return;
    default:
      w.tag(no, WireType.StartGroup);
      if (depth < 3) writeUnknown(g, w, desc, depth + 1);
      w.uint32(0x08).uint32(g.u32()); // field 1, varint, inside the group
      w.tag(no, WireType.EndGroup);
  }
}

/** A valid encoding of `desc` with random fields: any order, repeats, unknown fields. */
function randomEncoding(g: Gen, desc: DescMessage, depth = 0): Uint8Array {
  const w = new BinaryWriter();
  const count = depth > 3 ? g.int(2) : g.int(7);
  for (let i = 0; i < count; i++) {
    if (g.int(5) === 0) writeUnknown(g, w, desc, 0);
    else writeField(g, w, g.pick(desc.fields), depth);
  }
  return w.finish();
}

/** Truncated, flipped or inserted bytes. */
function garble(g: Gen, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  for (let n = 1 + g.int(3); n > 0; n--) {
    switch (g.int(3)) {
      case 0:
        out.length = g.int(out.length + 1);
        break;
      case 1:
        if (out.length > 0) out[g.int(out.length)] = g.int(256);
        break;
      default:
        out.splice(g.int(out.length + 1), 0, g.int(256));
    }
  }
  return new Uint8Array(out);
}

const codecs = [
  {
    name: "BatchRequest",
    schema: BatchRequestSchema,
    decode: decodeBatchRequest,
    encode: (m: unknown, reserve?: number) => encodeBatchRequest(m as BatchRequest, reserve),
  },
  {
    name: "BatchResponse",
    schema: BatchResponseSchema,
    decode: decodeBatchResponse,
    encode: (m: unknown, reserve?: number) => encodeBatchResponse(m as BatchResponse, reserve),
  },
] as const;

describe.each(codecs)("$name codec against protobuf-es", ({ schema, decode, encode }) => {
  const SEED = 20261123;

  it(`decodes random encodings as fromBinary does, and re-encodes them as toBinary does (seed ${SEED})`, () => {
    const g = new Gen(SEED);
    for (let i = 0; i < 4000; i++) {
      const bytes = randomEncoding(g, schema);
      const reference = fromBinary(schema, bytes);
      const decoded = decode(bytes);
      expect(decoded, `message ${i}`).toEqual(reference);
      expect(Buffer.from(encode(decoded)).equals(toBinary(schema, reference)), `message ${i}`).toBe(true);
    }
  });

  it(`encodes what protobuf-es builds with create() as toBinary does, after the reserved bytes (seed ${SEED + 1})`, () => {
    const g = new Gen(SEED + 1);
    for (let i = 0; i < 1000; i++) {
      const message = fromBinary(schema, randomEncoding(g, schema));
      delete message.$unknown;
      const rebuilt = create(schema, message as never);
      const reserve = g.int(6);
      const encoded = encode(rebuilt, reserve);
      expect(Buffer.from(encoded.subarray(reserve)).equals(toBinary(schema, rebuilt)), `message ${i}`).toBe(
        true,
      );
    }
  });

  it(`refuses garbled input with MalformedKvMessageError, or decodes it as protobuf-es does (seed ${SEED + 2})`, () => {
    const g = new Gen(SEED + 2);
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const bytes = garble(g, randomEncoding(g, schema));
      let decoded: unknown;
      try {
        decoded = decode(bytes);
      } catch (error) {
        expect(error, `message ${i}`).toBeInstanceOf(MalformedKvMessageError);
        refused++;
        continue;
      }
      expect(decoded, `message ${i}`).toEqual(fromBinary(schema, bytes));
    }
    expect(refused).toBeGreaterThan(100);
  });
});

describe("the KV.Batch codec", () => {
  it("encodes the fields an init shape leaves out as zero values, as create() fills them in", () => {
    const key = new Uint8Array([1, 2]);
    for (const init of [
      { id: 3n, request: { case: "put" as const, value: { key } } },
      { id: 4n, request: { case: "scan" as const, value: { limit: 5 } } },
    ]) {
      const reference = toBinary(BatchRequestSchema, create(BatchRequestSchema, init));
      expect(Buffer.from(encodeBatchRequest(init as never)).equals(reference)).toBe(true);
    }
    for (const init of [
      { id: 5n, response: { case: "error" as const, value: { code: 14 } } },
      { id: 6n, response: { case: "scan" as const, value: { more: true } } },
      { id: 7n, response: { case: "get" as const, value: { header: { partition: 3 } } } },
    ]) {
      const reference = toBinary(BatchResponseSchema, create(BatchResponseSchema, init));
      expect(Buffer.from(encodeBatchResponse(init as never)).equals(reference)).toBe(true);
    }
  });

  it("decodes bytes fields as views of the input, and refuses numbers out of range when encoding", () => {
    const bytes = toBinary(
      BatchRequestSchema,
      create(BatchRequestSchema, {
        id: 7n,
        request: { case: "get", value: { key: new Uint8Array([1, 2, 3]), consistency: Consistency.STALE } },
      }),
    );
    const decoded = decodeBatchRequest(bytes);
    expect(decoded.request.case === "get" && decoded.request.value.key.buffer).toBe(bytes.buffer);
    expect(() =>
      encodeBatchResponse(
        create(BatchResponseSchema, { id: -1n, response: { case: "put", value: {} } }) as BatchResponse,
      ),
    ).toThrow(RangeError);
    expect(() =>
      encodeBatchResponse(
        create(BatchResponseSchema, {
          id: 1n,
          response: { case: "error", value: { code: 2 ** 32, message: "x" } },
        }) as BatchResponse,
      ),
    ).toThrow(/uint32/);
  });
});
