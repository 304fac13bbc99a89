import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import * as pb from "../../src/gen/tinyo/v1/raft_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { batchToProto } from "../../src/node/transport/codec.js";
import { closeAll, heartbeat, seqs, sleep, startCluster, TestNode, TOKEN, waitFor } from "./harness.js";

let nodes: TestNode[] = [];
let sessions: Http2SessionManager[] = [];
afterEach(async () => {
  for (const session of sessions) session.abort();
  sessions = [];
  await closeAll(nodes);
  nodes = [];
});

/** A raw Connect (or gRPC) client for node `to`'s Raft service, to send what a PeerTransport never would. */
function rawClient(to: TestNode, protocol: "connect" | "grpc" = "connect") {
  const baseUrl = `http://${to.address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  sessions.push(sessionManager);
  const options = { baseUrl, httpVersion: "2" as const, sessionManager };
  return createClient(
    pb.Raft,
    protocol === "connect" ? createConnectTransport(options) : createGrpcTransport(options),
  );
}

async function* each<T>(...items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("PeerTransport authentication and validation", () => {
  it("rejects a sender with the wrong token: Unauthenticated, never delivered, logged on both sides", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const intruder = new TestNode(nodeId(3), { clusterToken: "another-cluster", backoffInitialMs: 5 });
    nodes.push(intruder);
    await intruder.server.start(0);
    intruder.transport.setPeers(new Map([[b.id, b.address]]));

    for (let i = 0; i < 5; i++) {
      intruder.transport.send(b.id, [heartbeat(intruder.id, b.id, i)]);
      await intruder.transport.flush();
    }
    expect(b.deliveries).toEqual([]);
    expect(b.transport.stats()).toMatchObject({ rejectedCalls: 5, received: 0 });
    expect(intruder.transport.stats()).toMatchObject({
      failedCalls: 5,
      sentBatches: 0,
      droppedFailedCall: 5,
    });
    // The sender logs the rejection once, not once per call.
    expect(intruder.logged("transport.peer_rejected")).toEqual([
      {
        event: "transport.peer_rejected",
        fields: expect.objectContaining({ peer: b.id, code: "Unauthenticated", failedCalls: 1 }),
      },
    ]);
    // The receiver logs it too (rate-limited).
    expect(b.logged("transport.inbound_rejected")).toEqual([
      {
        event: "transport.inbound_rejected",
        fields: expect.objectContaining({ reason: "unauthenticated", from: 3, code: "Unauthenticated" }),
      },
    ]);

    // A legitimate peer is unaffected.
    a.transport.send(b.id, [heartbeat(a.id, b.id, 1)]);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
  });

  it("rejects a missing token with Unauthenticated", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const batch = batchToProto({ clusterToken: "", from: a.id, messages: [heartbeat(a.id, b.id, 1)] });
    expect(await codeOf(rawClient(b).send(batch))).toBe(Code.Unauthenticated);
    expect(b.deliveries).toEqual([]);
  });

  it("rejects malformed and misaddressed batches with InvalidArgument", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    const client = rawClient(b);
    const hb = heartbeat(a.id, b.id, 1);
    const cases: [string, pb.MessageBatch][] = [
      [
        "a message without a type",
        create(pb.MessageBatchSchema, {
          clusterToken: TOKEN,
          fromNode: a.id,
          messages: [{ group: 0, message: { from: a.id, to: b.id } }],
        }),
      ],
      [
        "a message claiming another sender",
        batchToProto({ clusterToken: TOKEN, from: c.id, messages: [hb] }),
      ],
      [
        "a message for another node",
        batchToProto({ clusterToken: TOKEN, from: a.id, messages: [hb, heartbeat(a.id, c.id, 2)] }),
      ],
      ["a batch from the node itself", batchToProto({ clusterToken: TOKEN, from: b.id, messages: [] })],
    ];
    for (const [what, batch] of cases) {
      let error: ConnectError | undefined;
      try {
        await client.send(batch);
      } catch (e) {
        error = ConnectError.from(e);
      }
      expect(error?.code, what).toBe(Code.InvalidArgument);
      expect(error?.rawMessage, what).toMatch(/^malformed /);
    }
    expect(b.deliveries).toEqual([]);
    expect(b.transport.stats().rejectedCalls).toBe(cases.length);
    // Valid: delivered.
    expect(await codeOf(client.send(batchToProto({ clusterToken: TOKEN, from: a.id, messages: [hb] })))).toBe(
      "ok",
    );
    expect(b.receivedFrom(a.id)).toHaveLength(1);
  });

  it("answers Unavailable once closed, and its sender neither delivers nor throws", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    await b.transport.close();
    const batch = batchToProto({ clusterToken: TOKEN, from: a.id, messages: [heartbeat(a.id, b.id, 1)] });
    expect(await codeOf(rawClient(b).send(batch))).toBe(Code.Unavailable);
    await a.transport.close();
    a.transport.send(b.id, [heartbeat(a.id, b.id, 2)]); // after close: dropped, no throw
    await sleep(10);
    expect(b.deliveries).toEqual([]);
    expect(a.transport.stats().droppedUnroutable).toBe(1);
  });

  it("authenticates a stream by its first batch: later ones without the token are delivered", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const batches = [1, 2, 3].map((seq) =>
      batchToProto({
        clusterToken: seq === 1 ? TOKEN : "",
        from: a.id,
        messages: [heartbeat(a.id, b.id, seq)],
      }),
    );
    expect(await codeOf(rawClient(b).stream(each(...batches)))).toBe("ok");
    expect(b.receivedFrom(a.id).map((m) => m.message)).toMatchObject([
      { commit: 1 },
      { commit: 2 },
      { commit: 3 },
    ]);
  });

  it("refuses a stream whose first batch lacks the token, delivering nothing", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const batches = [1, 2].map((seq) =>
      batchToProto({
        clusterToken: seq === 1 ? "" : TOKEN,
        from: a.id,
        messages: [heartbeat(a.id, b.id, seq)],
      }),
    );
    expect(await codeOf(rawClient(b).stream(each(...batches)))).toBe(Code.Unauthenticated);
    expect(b.deliveries).toEqual([]);
    expect(b.transport.stats().rejectedCalls).toBe(1);
  });

  it("ends a stream at a batch from another sender or for another node; earlier ones are delivered", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    const first = batchToProto({ clusterToken: TOKEN, from: a.id, messages: [heartbeat(a.id, b.id, 1)] });
    const impostor = batchToProto({ clusterToken: "", from: c.id, messages: [heartbeat(c.id, b.id, 2)] });
    const claims = create(pb.MessageBatchSchema, {
      fromNode: a.id,
      messages: [{ group: 0, message: { type: pb.MessageType.HEARTBEAT, from: c.id, to: b.id, term: 3n } }],
    });
    const misaddressed = batchToProto({ clusterToken: "", from: a.id, messages: [heartbeat(a.id, c.id, 3)] });
    for (const bad of [impostor, claims, misaddressed]) {
      let error: ConnectError | undefined;
      try {
        await rawClient(b).stream(each(first, bad, first));
      } catch (e) {
        error = ConnectError.from(e);
      }
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.rawMessage).toMatch(/^malformed /);
    }
    expect(seqs(b.receivedFrom(a.id))).toEqual([1, 1, 1]);
    expect(b.receivedFrom(c.id)).toEqual([]);
    expect(b.transport.stats().rejectedCalls).toBe(3);
  });

  it("serves Stream over gRPC too, and through connect-node's generic implementation", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const generic = new TestNode(nodeId(3), {}, false);
    nodes.push(generic);
    await generic.server.start(0);
    for (const [to, protocol] of [
      [b, "grpc"],
      [generic, "connect"],
      [generic, "grpc"],
    ] as const) {
      const batches = [1, 2].map((seq) =>
        batchToProto({
          clusterToken: seq === 1 ? TOKEN : "",
          from: a.id,
          messages: [heartbeat(a.id, to.id, seq)],
        }),
      );
      expect(await codeOf(rawClient(to, protocol).stream(each(...batches))), `${protocol}`).toBe("ok");
      const wrong = batchToProto({ clusterToken: "nope", from: a.id, messages: [heartbeat(a.id, to.id, 9)] });
      expect(await codeOf(rawClient(to, protocol).stream(each(wrong))), `${protocol}`).toBe(
        Code.Unauthenticated,
      );
    }
    expect(seqs(b.receivedFrom(a.id))).toEqual([1, 2]);
    expect(seqs(generic.receivedFrom(a.id))).toEqual([1, 2, 1, 2]);
  });
});
