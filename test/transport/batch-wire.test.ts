/**
 * The hand-written MessageBatch codec (batch-wire.ts) against protobuf-es: the same bytes for
 * random batches of every message type, the same decoding (or the same refusal) for random
 * protobuf messages, valid or not. Seeded, so a failure replays.
 */

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as pb from "../../src/gen/tinyo/v1/raft_pb.js";
import { type NodeId, nodeId, partitionId } from "../../src/node/ids.js";
import type { Config, Entry, Message } from "../../src/node/raft/types.js";
import { decodeBatch, encodeBatch } from "../../src/node/transport/batch-wire.js";
import { batchFromProto, batchToProto } from "../../src/node/transport/codec.js";
import {
  type GroupMessage,
  MalformedMessageError,
  type PeerBatch,
} from "../../src/node/transport/raft-fields.js";
import { SeededGen } from "../seeded-gen.js";

class Gen extends SeededGen {
  /** Zero, small, around varint boundaries, or up to 2^53 - 1. */
  u64(): number {
    switch (this.int(5)) {
      case 0:
        return 0;
      case 1:
        return this.int(200);
      case 2:
        return this.pick([
          127,
          128,
          16383,
          16384,
          2 ** 31 - 1,
          2 ** 31,
          2 ** 32 - 1,
          2 ** 32,
          2 ** 35,
          2 ** 49,
        ]);
      case 3:
        return Number.MAX_SAFE_INTEGER - this.int(3);
      default:
        return Math.floor(this.float() * Number.MAX_SAFE_INTEGER);
    }
  }
  node(): NodeId {
    return nodeId(1 + (this.bool() ? this.int(9) : this.int(2 ** 32 - 1)));
  }
  text(): string {
    const alphabet = ["a", "z", "0", "-", "é", "λ", "漢", "😀", "\u0000", " "];
    let s = "";
    for (let n = this.int(12); n > 0; n--) s += this.pick(alphabet);
    return s;
  }
  config(): Config {
    const ids = () => Array.from({ length: this.int(4) }, () => this.node());
    return { voters: ids(), learners: ids() };
  }
  entry(): Entry {
    if (this.int(4) > 0)
      return { type: "normal", term: this.u64(), index: this.u64(), data: this.bytes(300) };
    return {
      type: "confChange",
      term: this.u64(),
      index: this.u64(),
      change: { type: this.pick(["addLearner", "addVoter", "removeNode"] as const), node: this.node() },
      config: this.config(),
    };
  }
  message(from: NodeId): Message {
    const to = this.node();
    const term = this.u64();
    switch (this.int(12)) {
      case 0:
        return {
          type: this.pick(["preVote", "vote"] as const),
          from,
          to,
          term,
          lastLogIndex: this.u64(),
          lastLogTerm: this.u64(),
          transfer: this.bool(),
        };
      case 1:
        return { type: this.pick(["preVoteResp", "voteResp"] as const), from, to, term, reject: this.bool() };
      case 2:
      case 3:
        return {
          type: "append",
          from,
          to,
          term,
          prevIndex: this.u64(),
          prevTerm: this.u64(),
          entries: Array.from({ length: this.int(6) }, () => this.entry()),
          commit: this.u64(),
        };
      case 4:
        return {
          type: "appendResp",
          from,
          to,
          term,
          reject: this.bool(),
          index: this.u64(),
          hintIndex: this.u64(),
          hintTerm: this.u64(),
        };
      case 5:
        return { type: "heartbeat", from, to, term, commit: this.u64(), readSeq: this.u64() };
      case 6:
        return { type: "heartbeatResp", from, to, term, readSeq: this.u64() };
      case 7:
        return {
          type: "snapshot",
          from,
          to,
          term,
          snapshot: {
            meta: { index: this.u64(), term: this.u64(), config: this.config() },
            data: new Uint8Array(0),
          },
        };
      case 8:
        return { type: "timeoutNow", from, to, term };
      case 9:
        return { type: "readIndex", from, to, term, context: this.text() };
      default:
        return { type: "readIndexResp", from, to, term, context: this.text(), index: this.u64() };
    }
  }
  batch(): PeerBatch {
    const from = this.node();
    const messages: GroupMessage[] = Array.from({ length: this.int(8) }, () => ({
      group: partitionId(this.bool() ? this.int(64) : this.int(2 ** 32)),
      message: this.message(from),
    }));
    return { clusterToken: this.bool() ? "" : this.text(), from, messages };
  }

  /** A protobuf MessageBatch with fields chosen at random, valid or not. */
  anyProto(): pb.MessageBatch {
    const big = (): bigint =>
      this.int(6) === 0 ? BigInt(2 ** 53) + BigInt(this.int(3)) : BigInt(this.u64());
    const from = this.int(4) === 0 ? 0 : this.int(4);
    const config = () =>
      create(pb.ConfigSchema, {
        voters: [this.int(3), this.int(3)],
        learners: this.bool() ? [] : [this.int(3)],
      });
    const entry = () =>
      create(pb.EntrySchema, {
        type: this.int(4),
        term: big(),
        index: big(),
        data: this.int(3) === 0 ? this.bytes(4) : new Uint8Array(0),
        change: this.bool()
          ? create(pb.ConfChangeSchema, { type: this.int(5), node: this.int(3) })
          : undefined,
        config: this.bool() ? config() : undefined,
      });
    const message = () =>
      create(pb.RaftMessageSchema, {
        type: this.int(14),
        from: this.int(4) === 0 ? this.int(4) : from,
        to: this.int(3),
        term: big(),
        lastLogIndex: big(),
        lastLogTerm: big(),
        transfer: this.bool(),
        reject: this.bool(),
        prevIndex: big(),
        prevTerm: big(),
        entries: Array.from({ length: this.int(3) }, entry),
        commit: big(),
        index: big(),
        hintIndex: big(),
        hintTerm: big(),
        readSeq: big(),
        snapshot: this.bool()
          ? create(pb.SnapshotMetaSchema, {
              index: big(),
              term: big(),
              config: this.bool() ? config() : undefined,
            })
          : undefined,
        context: this.text(),
      });
    return create(pb.MessageBatchSchema, {
      clusterToken: this.text(),
      fromNode: from,
      messages: Array.from({ length: this.int(3) }, () =>
        create(pb.GroupMessageSchema, {
          group: this.int(5),
          message: this.int(8) === 0 ? undefined : message(),
        }),
      ),
    });
  }
}

/** What protobuf-es and codec.ts make of the bytes: the batch, or the refusal. */
function viaProtobufEs(bytes: Uint8Array): PeerBatch | "malformed" {
  try {
    return batchFromProto(fromBinary(pb.MessageBatchSchema, bytes));
  } catch (error) {
    if (error instanceof MalformedMessageError) return "malformed";
    throw error;
  }
}

function viaBatchWire(bytes: Uint8Array): PeerBatch | "malformed" {
  try {
    return decodeBatch(bytes);
  } catch (error) {
    if (error instanceof MalformedMessageError) return "malformed";
    throw error;
  }
}

describe("batch-wire", () => {
  it("encodes random batches to exactly protobuf-es's bytes, and decodes them back", () => {
    const gen = new Gen(1);
    for (let i = 0; i < 1000; i++) {
      const batch = gen.batch();
      const expected = toBinary(pb.MessageBatchSchema, batchToProto(batch));
      const encoded = encodeBatch(batch);
      expect(Buffer.from(encoded).equals(Buffer.from(expected)), `batch ${i}`).toBe(true);
      // A plain Uint8Array view, so that decoded entry data compare as Uint8Arrays (not Buffers).
      const decoded = decodeBatch(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length));
      expect(decoded).toEqual(batchFromProto(fromBinary(pb.MessageBatchSchema, expected)));
      if (batch.messages.length > 0) expect(decoded).toEqual(batch);
    }
  });

  it("leaves the requested prefix free before the message", () => {
    const batch = new Gen(2).batch();
    const framed = encodeBatch(batch, 5);
    expect(framed.subarray(5)).toEqual(encodeBatch(batch));
  });

  it("decodes random protobuf messages, valid or not, as protobuf-es and batchFromProto do", () => {
    const gen = new Gen(3);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = toBinary(pb.MessageBatchSchema, gen.anyProto());
      const expected = viaProtobufEs(bytes);
      if (expected === "malformed") refused++;
      expect(viaBatchWire(bytes), `message ${i}`).toEqual(expected);
    }
    // Both outcomes were exercised.
    expect(refused).toBeGreaterThan(500);
    expect(refused).toBeLessThan(4900);
  });

  it("skips unknown fields of every wire type, and reads unpacked config members", () => {
    const batch = new Gen(4).batch();
    const known = encodeBatch({ ...batch, messages: [] });
    // field 99 varint, field 98 fixed64, field 97 bytes, field 96 fixed32, field 95 group
    const unknown = [
      0x98, 0x06, 0x96, 0x01, 0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x06, 2, 9, 9, 0x85, 0x06, 1, 2, 3, 4,
      0xfb, 0x05, 0x08, 0x01, 0xfc, 0x05,
    ];
    const decoded = decodeBatch(new Uint8Array([...unknown, ...known]));
    expect(decoded).toEqual({ ...batch, messages: [] });
    const config = create(pb.ConfigSchema, { voters: [1, 300], learners: [7] });
    const packed = toBinary(pb.ConfigSchema, config);
    expect([...packed]).toEqual([0x0a, 3, 1, 0xac, 0x02, 0x12, 1, 7]);
    const snapshot = create(pb.MessageBatchSchema, {
      fromNode: 1,
      messages: [
        {
          group: 1,
          message: {
            type: pb.MessageType.SNAPSHOT,
            from: 1,
            to: 2,
            snapshot: { index: 5n, term: 1n, config: { voters: [1, 300], learners: [7] } },
          },
        },
      ],
    });
    const bytes = toBinary(pb.MessageBatchSchema, snapshot);
    const configAt = Buffer.from(bytes).indexOf(Buffer.from(packed));
    // The same config with its members unpacked (one tag per member), which parsers must accept.
    const unpacked = [0x08, 1, 0x08, 0xac, 0x02, 0x10, 7];
    const rewritten = rewriteNested(bytes, configAt, packed.length, unpacked);
    const message = decodeBatch(rewritten).messages[0]?.message;
    expect(message?.type === "snapshot" && message.snapshot.meta.config).toEqual({
      voters: [1, 300],
      learners: [7],
    });
  });

  it("refuses truncated and garbled bytes with MalformedMessageError, never another error", () => {
    const gen = new Gen(5);
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeBatch(gen.batch());
      const cut = bytes.subarray(0, gen.int(bytes.length));
      const garbled = Uint8Array.from(bytes);
      if (garbled.length > 0) garbled[gen.int(garbled.length)] = gen.int(256);
      for (const input of [cut, garbled]) {
        try {
          decodeBatch(input);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMessageError);
        }
      }
    }
  });

  it("refuses to encode numbers protobuf cannot carry", () => {
    const from = nodeId(1);
    const batch = (term: number): PeerBatch => ({
      clusterToken: "",
      from,
      messages: [{ group: partitionId(0), message: { type: "timeoutNow", from, to: nodeId(2), term } }],
    });
    expect(() => encodeBatch(batch(-1))).toThrow(RangeError);
    expect(() => encodeBatch(batch(1.5))).toThrow(RangeError);
    expect(() => encodeBatch(batch(2 ** 53))).toThrow(RangeError);
  });
});

/**
 * The protobuf bytes with the nested message of `length` bytes at `at` replaced by `content`,
 * every enclosing length prefix fixed. Only for the snapshot batch above, whose enclosing
 * messages (MessageBatch.messages, GroupMessage.message, RaftMessage.snapshot, SnapshotMeta.config)
 * all have one-byte lengths.
 */
function rewriteNested(bytes: Uint8Array, at: number, length: number, content: number[]): Uint8Array {
  const out = [...bytes.subarray(0, at), ...content, ...bytes.subarray(at + length)];
  const delta = content.length - length;
  // Each enclosing length byte sits just before its message: walk them from the outside in.
  let i = 0;
  while (i < at) {
    const tag = out[i] as number;
    const wide = tag >= 0x80;
    const lengthAt = i + (wide ? 2 : 1);
    if ((tag & 7) !== 2) {
      i = lengthAt + 1; // a one-byte varint value
      continue;
    }
    const len = out[lengthAt] as number;
    if (lengthAt + 1 + len >= at) {
      out[lengthAt] = len + delta;
      i = lengthAt + 1;
    } else i = lengthAt + 1 + len;
  }
  return new Uint8Array(out);
}
