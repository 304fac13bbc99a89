import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import * as pb from "../../src/gen/tinyo/v1/raft_pb.js";
import { type NodeId, nodeId } from "../../src/node/ids.js";
import { toProto } from "../../src/node/transport/codec.js";
import type { InboundSnapshot, SnapshotMessage } from "../../src/node/transport/peer-transport.js";
import { closeAll, group, startCluster, type TestNode, TOKEN } from "./harness.js";

let nodes: TestNode[] = [];
let sessions: Http2SessionManager[] = [];
afterEach(async () => {
  for (const session of sessions) session.abort();
  sessions = [];
  await closeAll(nodes);
  nodes = [];
});

/** What each node's onSnapshot saw: the header and every piece, read to the end. */
interface Received {
  readonly from: NodeId;
  readonly group: number;
  readonly message: SnapshotMessage;
  readonly pieces: Uint8Array[];
  readonly error?: string;
}

function receiver(log: Received[], installed = true) {
  return async ({ from, group, message, chunks }: InboundSnapshot) => {
    const pieces: Uint8Array[] = [];
    try {
      for await (const piece of chunks) pieces.push(piece);
    } catch (error) {
      log.push({ from, group, message, pieces, error: String(error) });
      throw error;
    }
    log.push({ from, group, message, pieces });
    return { installed };
  };
}

const snapshotMessage = (from: NodeId, to: NodeId, index = 120): SnapshotMessage => ({
  type: "snapshot",
  from,
  to,
  term: 4,
  snapshot: {
    meta: { index, term: 3, config: { voters: [from, to], learners: [] } },
    data: new Uint8Array(0),
  },
});

async function* piecesOf(...sizes: number[]): AsyncGenerator<Uint8Array> {
  for (const [i, size] of sizes.entries()) yield new Uint8Array(size).fill(i + 1);
}

function rawClient(to: TestNode) {
  const baseUrl = `http://${to.address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  sessions.push(sessionManager);
  return createClient(pb.Raft, createConnectTransport({ baseUrl, httpVersion: "2", sessionManager }));
}

describe("PeerTransport snapshot streams", () => {
  it("streams the message and every piece in order, and returns the receiver's answer", async () => {
    const received: Received[] = [];
    nodes = await startCluster(2, () => ({ onSnapshot: receiver(received) }));
    const [a, b] = nodes as [TestNode, TestNode];
    const message = snapshotMessage(a.id, b.id);
    const receipt = await a.transport.sendSnapshot(group(7), message, piecesOf(3, 2_000_000, 1));
    expect(receipt).toEqual({ installed: true });
    expect(received).toHaveLength(1);
    const [got] = received as [Received];
    expect(got).toMatchObject({ from: a.id, group: 7, message });
    expect(got.pieces.map((p) => [p.length, p[0]])).toEqual([
      [3, 1],
      [2_000_000, 2],
      [1, 3],
    ]);
    expect(a.transport.stats()).toMatchObject({ snapshotsSent: 1, snapshotBytesSent: 2_000_004 });
    expect(b.transport.stats()).toMatchObject({ snapshotsReceived: 1, snapshotBytesReceived: 2_000_004 });
    // An empty state (a partition without keys) is a message and `done`.
    expect(await a.transport.sendSnapshot(group(1), message, piecesOf())).toEqual({ installed: true });
    expect(received[1]?.pieces).toEqual([]);
  });

  it("refuses a wrong token, a stream cut short and a message that is not a snapshot for this node", async () => {
    const received: Received[] = [];
    nodes = await startCluster(2, () => ({ onSnapshot: receiver(received) }));
    const [a, b] = nodes as [TestNode, TestNode];
    const client = rawClient(b);
    const codeOf = (chunks: pb.SnapshotChunk[]) =>
      client
        .sendSnapshot(
          (async function* () {
            yield* chunks;
          })(),
        )
        .then(
          () => "ok" as const,
          (e: unknown) => ConnectError.from(e).code,
        );
    const head = (init: { clusterToken?: string; fromNode?: number; message?: pb.RaftMessage } = {}) =>
      create(pb.SnapshotChunkSchema, {
        clusterToken: TOKEN,
        group: 2,
        fromNode: a.id,
        message: toProto(snapshotMessage(a.id, b.id)),
        ...init,
      });
    const data = create(pb.SnapshotChunkSchema, { data: new Uint8Array([1, 2, 3]) });
    const done = create(pb.SnapshotChunkSchema, { done: true });
    expect(await codeOf([head({ clusterToken: "nope" }), data, done])).toBe(Code.Unauthenticated);
    expect(await codeOf([])).toBe(Code.InvalidArgument);
    expect(await codeOf([head({ message: toProto(snapshotMessage(a.id, nodeId(9))) }), done])).toBe(
      Code.InvalidArgument,
    );
    expect(
      await codeOf([
        head({
          message: toProto({ type: "heartbeat", from: a.id, to: b.id, term: 1, commit: 0, readSeq: 0 }),
        }),
        done,
      ]),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf([head({ fromNode: 3 }), done])).toBe(Code.InvalidArgument);
    expect(received).toEqual([]);
    // Cut short: the receiver's iterable fails, and so does the call.
    expect(await codeOf([head(), data])).toBe(Code.Unavailable);
    expect(received).toMatchObject([{ error: expect.stringMatching(/ended before its last chunk/) }]);
    expect(await codeOf([head(), data, done])).toBe("ok");
    expect(b.transport.stats().rejectedCalls).toBe(5);
  });

  it("applies drop faults both ways, and reports a receiver that fails", async () => {
    const received: Received[] = [];
    nodes = await startCluster(3, (id) => ({
      onSnapshot: id === 3 ? async () => Promise.reject(new Error("busy installing")) : receiver(received),
    }));
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    a.transport.setFaults([{ peer: b.id, direction: FaultDirection.OUT, drop: true }]);
    await expect(
      a.transport.sendSnapshot(group(1), snapshotMessage(a.id, b.id), piecesOf(10)),
    ).rejects.toThrow(/drops traffic to node 2/);
    a.transport.clearFaults();
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, drop: true }]);
    expect(await a.transport.sendSnapshot(group(1), snapshotMessage(a.id, b.id), piecesOf(10))).toEqual({
      installed: false,
    });
    expect(received).toEqual([]);
    b.transport.clearFaults();
    const error = await a.transport
      .sendSnapshot(group(1), snapshotMessage(a.id, c.id), piecesOf(10))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect((error as ConnectError).rawMessage).toMatch(/did not take the snapshot: busy installing/);
    expect(a.transport.stats()).toMatchObject({ snapshotsSent: 1, snapshotsFailed: 1 });
    await expect(
      a.transport.sendSnapshot(group(1), snapshotMessage(a.id, nodeId(9)), piecesOf(10)),
    ).rejects.toThrow(/no link to node 9/);
  });
});
