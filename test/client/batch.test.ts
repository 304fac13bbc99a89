/**
 * The client's side of KV.Batch against an in-process HTTP/2 server with a fake KV service:
 * BatchStream matches answers to requests by id whatever their order, fails the requests
 * awaiting an answer when the stream breaks, and times them out; TinyoClient.batch() falls back
 * to unary calls on an error answer or a broken stream, but not on InvalidArgument.
 */

import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { BatchStream } from "../../src/client/batch-stream.js";
import { TinyoClient } from "../../src/client/index.js";
import { Admin, type RoutesResponse, RoutesResponseSchema } from "../../src/gen/tinyo/v1/admin_pb.js";
import {
  type BatchRequest,
  type BatchResponse,
  BatchResponseSchema,
  KV,
  PutResponseSchema,
  ResponseHeaderSchema,
} from "../../src/gen/tinyo/v1/kv_pb.js";
import { partitionOf } from "../../src/node/ring/index.js";

const text = new TextEncoder();

type BatchImpl = ServiceImpl<typeof KV>["batch"];

/**
 * A node whose Batch is `batch`, whose unary Put answers with index 42 (and counts), and whose
 * Admin.Routes answers `routes.current` when set.
 */
async function fakeNode(batch: BatchImpl, routes: { current?: RoutesResponse } = {}) {
  const calls = { put: 0 };
  const server = http2.createServer(
    connectNodeAdapter({
      routes: (router) => {
        router.service(KV, {
          batch,
          put: () => {
            calls.put++;
            return create(PutResponseSchema, {
              header: create(ResponseHeaderSchema, { partition: 0, leader: 1, term: 1n, index: 42n }),
            });
          },
        });
        router.service(Admin, {
          routes: () => {
            if (!routes.current) throw new ConnectError("no routes", Code.Unimplemented);
            return routes.current;
          },
        });
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sessions = new Http2SessionManager(`http://${address}`);
  const kv = createClient(
    KV,
    createConnectTransport({ baseUrl: `http://${address}`, httpVersion: "2", sessionManager: sessions }),
  );
  const node = {
    address,
    calls,
    kv,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        sessions.abort();
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
  const open = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  closers.push(node.close);
  return node;
}

/** The error a call fails with; fails the test if it succeeds. */
function failure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const putAnswer = (id: bigint, index: bigint): BatchResponse =>
  create(BatchResponseSchema, {
    id,
    response: { case: "put", value: { header: { partition: 0, leader: 1, term: 1n, index } } },
  });

const put = (key: string) =>
  ({ case: "put", value: { key: text.encode(key), value: text.encode("v") } }) as never;

describe("BatchStream", () => {
  it("resolves each request with the answer that carries its id, whatever the order", async () => {
    const node = await fakeNode(async function* (requests) {
      const held: BatchRequest[] = [];
      for await (const request of requests) {
        held.push(request);
        if (held.length === 3) break;
      }
      for (const request of held.reverse()) yield putAnswer(request.id, request.id * 10n);
    });
    const stream = new BatchStream(node.sessions);
    const answers = await Promise.all(["a", "b", "c"].map((k) => stream.send(put(k), 5000)));
    expect(answers.map((a) => (a.case === "put" ? a.value.header?.index : undefined))).toEqual([
      10n,
      20n,
      30n,
    ]);
    await stream.close();
    expect(stream.usable).toBe(false);
  });

  it("fails the requests awaiting an answer when the stream breaks, and takes no more", async () => {
    const node = await fakeNode(async function* (requests) {
      for await (const _ of requests) throw new ConnectError("node going away", Code.Unavailable);
      yield putAnswer(0n, 0n);
    });
    const stream = new BatchStream(node.sessions);
    const error = await failure(stream.send(put("a"), 5000));
    expect(error.code).toBe(Code.Unavailable);
    expect(stream.usable).toBe(false);
    await expect(stream.send(put("b"), 5000)).rejects.toThrow(/going away/);
  });

  it("times out a request not answered in time, and drops its late answer", async () => {
    let answer: (() => void) | undefined;
    const node = await fakeNode(async function* (requests) {
      for await (const request of requests) {
        await new Promise<void>((resolve) => {
          answer = resolve;
        });
        yield putAnswer(request.id, 1n);
      }
    });
    const stream = new BatchStream(node.sessions);
    const error = await failure(stream.send(put("a"), 50));
    expect(error.code).toBe(Code.DeadlineExceeded);
    answer?.();
    await stream.close();
  });
});

describe("TinyoClient.batch", () => {
  it("falls back to a unary call when the stream answers with an error", async () => {
    const node = await fakeNode(async function* (requests) {
      for await (const request of requests) {
        yield create(BatchResponseSchema, {
          id: request.id,
          response: { case: "error", value: { code: Code.Unavailable, message: "no leader yet" } },
        });
      }
    });
    const client = new TinyoClient({ endpoints: [node.address], partitions: 1 });
    try {
      const batch = client.batch();
      const served = await batch.put("k", "v");
      expect(served.index).toBe(42);
      expect(node.calls.put).toBe(1);
      await batch.close();
    } finally {
      client.close();
    }
  });

  it("falls back to a unary call when the stream breaks", async () => {
    const node = await fakeNode(async function* (requests) {
      for await (const _ of requests) throw new ConnectError("stream broke", Code.Unavailable);
      yield putAnswer(0n, 0n);
    });
    const client = new TinyoClient({ endpoints: [node.address], partitions: 1 });
    try {
      const batch = client.batch();
      expect((await batch.put("k", "v")).index).toBe(42);
      expect(node.calls.put).toBe(1);
      await batch.close();
    } finally {
      client.close();
    }
  });

  it("does not retry an InvalidArgument answer", async () => {
    const node = await fakeNode(async function* (requests) {
      for await (const request of requests) {
        yield create(BatchResponseSchema, {
          id: request.id,
          response: {
            case: "error",
            value: { code: Code.InvalidArgument, message: "a value may be at most 1 MiB" },
          },
        });
      }
    });
    const client = new TinyoClient({ endpoints: [node.address], partitions: 1 });
    try {
      const batch = client.batch();
      const error = await failure(batch.put("k", "v"));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toBe("a value may be at most 1 MiB");
      expect(node.calls.put).toBe(0);
      await batch.close();
    } finally {
      client.close();
    }
  });

  it("sends each request over the stream of its partition's leader", async () => {
    const received = new Map<number, string[]>();
    const recording = (node: number): BatchImpl =>
      async function* (requests) {
        for await (const request of requests) {
          if (request.request.case !== "put") continue;
          received.set(node, [
            ...(received.get(node) ?? []),
            new TextDecoder().decode(request.request.value.key),
          ]);
          yield putAnswer(request.id, 1n);
        }
      };
    const routes: { current?: RoutesResponse } = {};
    const one = await fakeNode(recording(1), routes);
    const two = await fakeNode(recording(2), routes);
    routes.current = create(RoutesResponseSchema, {
      partitions: 2,
      routes: [
        { partition: 0, replicas: [1, 2], leader: 1, term: 1n },
        { partition: 1, replicas: [1, 2], leader: 2, term: 1n },
      ],
      nodes: [
        { node: 1, address: one.address },
        { node: 2, address: two.address },
      ],
    });
    const client = new TinyoClient({ endpoints: [one.address] });
    try {
      const batch = client.batch();
      const keys = Array.from({ length: 20 }, (_, i) => `key:${i}`);
      await Promise.all(keys.map((key) => batch.put(key, "v")));
      await batch.close();
      const ledBy = (leader: number) =>
        keys.filter((key) => partitionOf(text.encode(key), 2) === (leader === 1 ? 0 : 1));
      expect(ledBy(1).length).toBeGreaterThan(0);
      expect(ledBy(2).length).toBeGreaterThan(0);
      expect(received.get(1)?.sort()).toEqual(ledBy(1).sort());
      expect(received.get(2)?.sort()).toEqual(ledBy(2).sort());
    } finally {
      client.close();
    }
  });
});
