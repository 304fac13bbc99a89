import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import * as pb from "../../src/gen/tinyo/v1/raft_pb.js";
import { nodeId, partitionId } from "../../src/node/ids.js";
import type { Entry, Message, MessageType, Snapshot } from "../../src/node/raft/types.js";
import { batchFromProto, batchToProto, fromProto, toProto } from "../../src/node/transport/codec.js";
import { MalformedMessageError, type PeerBatch } from "../../src/node/transport/raft-fields.js";

const n1 = nodeId(1);
const n2 = nodeId(2);
const n3 = nodeId(3);
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

const entries: Entry[] = [
  { type: "normal", term: 7, index: 41, data: new Uint8Array(0) },
  { type: "normal", term: 7, index: 42, data: bytes(1, 2, 3, 255) },
  {
    type: "confChange",
    term: 7,
    index: 43,
    change: { type: "addLearner", node: nodeId(4) },
    config: { voters: [n1, n2, n3], learners: [nodeId(4)] },
  },
  {
    type: "confChange",
    term: 8,
    index: 44,
    change: { type: "addVoter", node: nodeId(4) },
    config: { voters: [n1, n2, n3, nodeId(4)], learners: [] },
  },
  {
    type: "confChange",
    term: 8,
    index: 45,
    change: { type: "removeNode", node: n3 },
    config: { voters: [n1, n2, nodeId(4)], learners: [] },
  },
  { type: "normal", term: 8, index: 2 ** 53 - 1, data: new TextEncoder().encode("put k v") },
];

const snapshot: Snapshot = {
  meta: { index: 1_000_000, term: 9, config: { voters: [n1, n2, n3], learners: [nodeId(5)] } },
  data: bytes(9, 8, 7),
};

/** One message of every type, with non-zero fields wherever the type has them. */
const messages: Message[] = [
  { type: "preVote", from: n1, to: n2, term: 5, lastLogIndex: 40, lastLogTerm: 4, transfer: false },
  { type: "vote", from: n1, to: n2, term: 5, lastLogIndex: 40, lastLogTerm: 4, transfer: true },
  { type: "preVoteResp", from: n2, to: n1, term: 5, reject: true },
  { type: "voteResp", from: n2, to: n1, term: 5, reject: false },
  { type: "append", from: n1, to: n2, term: 8, prevIndex: 40, prevTerm: 6, entries, commit: 39 },
  { type: "append", from: n1, to: n2, term: 8, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
  { type: "appendResp", from: n2, to: n1, term: 8, reject: false, index: 46, hintIndex: 0, hintTerm: 0 },
  { type: "appendResp", from: n2, to: n1, term: 8, reject: true, index: 40, hintIndex: 35, hintTerm: 5 },
  { type: "heartbeat", from: n1, to: n3, term: 8, commit: 45, readSeq: 12 },
  { type: "heartbeatResp", from: n3, to: n1, term: 8, readSeq: 12 },
  { type: "snapshot", from: n1, to: n3, term: 9, snapshot },
  { type: "timeoutNow", from: n1, to: n2, term: 9 },
  { type: "readIndex", from: n3, to: n1, term: 9, context: "read-17" },
  { type: "readIndexResp", from: n1, to: n3, term: 9, context: "read-17", index: 45 },
  { type: "readIndexResp", from: n1, to: n3, term: 9, context: "", index: 0 },
];

/** The whole trip a message makes between two nodes. */
function roundTrip(m: Message): Message {
  const wire = toBinary(pb.RaftMessageSchema, toProto(m));
  const data = m.type === "snapshot" ? m.snapshot.data : undefined;
  return fromProto(fromBinary(pb.RaftMessageSchema, wire), data);
}

describe("codec", () => {
  it("covers every message type", () => {
    const all: MessageType[] = [
      "preVote",
      "preVoteResp",
      "vote",
      "voteResp",
      "append",
      "appendResp",
      "heartbeat",
      "heartbeatResp",
      "snapshot",
      "timeoutNow",
      "readIndex",
      "readIndexResp",
    ];
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(all));
  });

  it.each(messages.map((m) => [m.type, m] as const))("round-trips %s through the wire", (_, m) => {
    expect(roundTrip(m)).toStrictEqual(m);
  });

  it("keeps a snapshot's data off the wire: it comes back only when given", () => {
    const m = messages.find((x) => x.type === "snapshot");
    if (m?.type !== "snapshot") throw new Error("no snapshot message");
    const decoded = fromBinary(pb.RaftMessageSchema, toBinary(pb.RaftMessageSchema, toProto(m)));
    expect(decoded.snapshot?.$typeName).toBe("tinyo.v1.SnapshotMeta");
    expect(fromProto(decoded)).toStrictEqual({ ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } });
  });

  it("decodes entry data as views of the received buffer, not copies", () => {
    const m: Message = {
      type: "append",
      from: n1,
      to: n2,
      term: 8,
      prevIndex: 40,
      prevTerm: 6,
      entries,
      commit: 1,
    };
    const wire = toBinary(pb.RaftMessageSchema, toProto(m));
    const decoded = fromProto(fromBinary(pb.RaftMessageSchema, wire));
    if (decoded.type !== "append" || decoded.entries[1].type !== "normal") throw new Error("not an append");
    expect(decoded.entries[1].data.buffer).toBe(wire.buffer);
  });

  it("round-trips a batch for several groups", () => {
    const batch: PeerBatch = {
      clusterToken: "secret",
      from: n1,
      messages: messages
        .filter((m) => m.from === n1)
        .map((message, i) => ({ group: partitionId(i % 3), message: stripSnapshotData(message) })),
    };
    const wire = toBinary(pb.MessageBatchSchema, batchToProto(batch));
    expect(batchFromProto(fromBinary(pb.MessageBatchSchema, wire))).toStrictEqual(batch);
  });

  it("carries a batch through the generated Raft service with Connect", async () => {
    const received: PeerBatch[] = [];
    const transport = createRouterTransport(({ service }) => {
      service(pb.Raft, {
        send(request) {
          received.push(batchFromProto(request));
          return {};
        },
      });
    });
    const batch: PeerBatch = {
      clusterToken: "secret",
      from: n1,
      messages: [{ group: partitionId(3), message: messages[4] }],
    };
    await createClient(pb.Raft, transport).send(batchToProto(batch));
    expect(received).toStrictEqual([batch]);
  });

  describe("refuses malformed messages with a clear error", () => {
    const valid = (m: Message) => toProto(m);
    const expectMalformed = (f: () => unknown, text: RegExp) => {
      expect(f).toThrow(MalformedMessageError);
      expect(f).toThrow(text);
    };

    it("a message without a type", () => {
      const p = create(pb.RaftMessageSchema, { from: 1, to: 2, term: 3n });
      expectMalformed(() => fromProto(p), /malformed RaftMessage UNSPECIFIED from 1 to 2: no message type/);
    });

    it("a message with a type from the future", () => {
      const p = fromBinary(pb.RaftMessageSchema, toBinary(pb.RaftMessageSchema, valid(messages[0])));
      p.type = 99 as pb.MessageType;
      expectMalformed(() => fromProto(p), /type 99 .*no message type/);
    });

    it("a message without a sender", () => {
      const p = valid(messages[0]);
      p.from = 0;
      expectMalformed(() => fromProto(p), /from and to must be node ids/);
    });

    it("a snapshot message without its metadata", () => {
      const p = valid(messages[10]);
      p.snapshot = undefined;
      expectMalformed(() => fromProto(p), /SNAPSHOT from 1 to 3: no snapshot metadata/);
    });

    it("a snapshot without a config", () => {
      const p = valid(messages[10]);
      if (p.snapshot) p.snapshot.config = undefined;
      expectMalformed(() => fromProto(p), /snapshot: no config/);
    });

    it("entries without a type, a change or a config", () => {
      const p = valid(messages[4]);
      p.entries[0].type = pb.EntryType.UNSPECIFIED;
      expectMalformed(() => fromProto(p), /APPEND from 1 to 2: entries\[0\]: unknown entry type 0/);
      const noChange = create(pb.EntrySchema, { type: pb.EntryType.CONF_CHANGE, term: 1n, index: 1n });
      p.entries = [noChange];
      expectMalformed(() => fromProto(p), /entries\[0\]: a conf-change entry without its change/);
      noChange.change = create(pb.ConfChangeSchema, { type: pb.ConfChangeType.ADD_VOTER, node: 2 });
      expectMalformed(() => fromProto(p), /entries\[0\]: a conf-change entry without its resulting config/);
      noChange.config = create(pb.ConfigSchema, { voters: [1, 2] });
      noChange.change.type = pb.ConfChangeType.UNSPECIFIED;
      expectMalformed(() => fromProto(p), /entries\[0\]: change: unknown conf change type 0/);
    });

    it("an index beyond what a number holds", () => {
      const p = valid(messages[6]);
      p.index = 2n ** 53n;
      expectMalformed(() => fromProto(p), /index 9007199254740992 exceeds 2\^53 - 1/);
    });

    it("a batch with a missing message or a forged sender", () => {
      const batch = batchToProto({
        clusterToken: "t",
        from: n1,
        messages: [{ group: partitionId(0), message: messages[0] }],
      });
      batch.messages[0].message = undefined;
      expectMalformed(() => batchFromProto(batch), /messages\[0\] \(group 0\): no message/);
      batch.messages[0].message = valid(messages[2]);
      expectMalformed(() => batchFromProto(batch), /claims to be from 2/);
    });
  });

  it("measures an append of 100 entries of 100 bytes (printed, not asserted)", () => {
    const big: Entry[] = Array.from({ length: 100 }, (_, i) => ({
      type: "normal",
      term: 12,
      index: 1_000_001 + i,
      data: new Uint8Array(100).fill(i),
    }));
    const m: Message = {
      type: "append",
      from: n1,
      to: n2,
      term: 12,
      prevIndex: 1_000_000,
      prevTerm: 12,
      entries: big,
      commit: 999_990,
    };
    const batch: PeerBatch = {
      clusterToken: "secret",
      from: n1,
      messages: [{ group: partitionId(7), message: m }],
    };
    const once = () => {
      const wire = toBinary(pb.MessageBatchSchema, batchToProto(batch));
      return { wire, back: batchFromProto(fromBinary(pb.MessageBatchSchema, wire)) };
    };
    const { wire, back } = once();
    expect(back).toStrictEqual(batch);
    for (let i = 0; i < 500; i++) once();

    const rounds = 2000;
    let encodeNs = 0n;
    let decodeNs = 0n;
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      const w = toBinary(pb.MessageBatchSchema, batchToProto(batch));
      const t1 = process.hrtime.bigint();
      batchFromProto(fromBinary(pb.MessageBatchSchema, w));
      const t2 = process.hrtime.bigint();
      encodeNs += t1 - t0;
      decodeNs += t2 - t1;
    }
    const us = (ns: bigint) => (Number(ns) / rounds / 1000).toFixed(1);
    console.log(
      `append of 100 x 100-byte entries in a batch: ${wire.length} bytes on the wire; ` +
        `encode ${us(encodeNs)} us, decode ${us(decodeNs)} us, total ${us(encodeNs + decodeNs)} us ` +
        `(mean of ${rounds})`,
    );
  });
});

function stripSnapshotData(m: Message): Message {
  return m.type === "snapshot" ? { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(0) } } : m;
}
