/**
 * KV.Batch on the node's fast path (fast-unordered-stream.ts + kvFastBatch), on a real node:http2
 * server over the real KV service with a fake store and state machine: a plain node:http2 client
 * gets what connect-node alone answers (headers, messages, end-stream message or trailers, error
 * codes) in the Connect and gRPC protocols; the node stops reading a stream past 1000 requests in
 * progress, also when the client does not read its answers; the stream's deadline ends it with
 * DeadlineExceeded; JSON falls through to connect-node; grpc-js's bidi client is served.
 */

import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterEach, describe, expect, it } from "vitest";
import { decodeBatchResponse } from "../../src/client/batch-codec.js";
import { BatchRequestSchema, KV } from "../../src/gen/tinyo/v1/kv_pb.js";
import { nodeId, type PartitionId } from "../../src/node/ids.js";
import { withFastPath } from "../../src/node/service/fast-unary.js";
import { InFlight } from "../../src/node/service/in-flight.js";
import {
  createKvOperations,
  createKvService,
  type KvServiceDeps,
  kvFastBatch,
} from "../../src/node/service/kv.js";
import { OpStats } from "../../src/node/service/op-stats.js";

const text = new TextEncoder();
const PARTITIONS = 8;
const BIG = new Uint8Array(64 * 1024).fill(7);

/** A node that leads every partition; a read of a "slow:" key waits until the test releases it. */
function fakeDeps() {
  const values = new Map<string, Uint8Array>([["big", BIG]]);
  let gate: { opened: Promise<void>; open: () => void } | undefined;
  const slow = () => {
    if (!gate) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { opened, open };
    }
    return gate;
  };
  const counts = { gets: 0 };
  // Fixed indexes: the answers do not depend on the order in which requests complete.
  const index = 10;
  const deps = {
    self: nodeId(1),
    partitions: PARTITIONS,
    store: {
      groupStatus: (partition: PartitionId) => ({ partition, leader: 1, term: 2 }),
      readBarrier: async () => {},
      propose: async () => ({ index: index + 1, term: 2 }),
    },
    stateMachine: {
      appliedIndex: () => index,
      get: async (_: PartitionId, key: Uint8Array) => {
        counts.gets++;
        const name = new TextDecoder().decode(key);
        if (name.startsWith("slow:")) await slow().opened;
        return values.get(name);
      },
    },
    outcomes: { outcomeOf: () => undefined },
    routing: {
      route: (partition: PartitionId, context: { signal: AbortSignal }) => ({
        partition,
        signal: context.signal,
      }),
      leaderOf: () => ({ leader: 2, term: 2 }),
      noteLeader: () => {},
      read: (_: unknown, local: () => Promise<unknown>) => local(),
      write: (_: unknown, local: () => Promise<unknown>) => local(),
    },
    peers: {},
    inFlight: new InFlight(1),
    stats: { puts: new OpStats(), gets: new OpStats() },
  } as unknown as KvServiceDeps;
  return { deps, counts, release: () => slow().open() };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function serve(handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) {
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => {
    for (const s of sessions) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** The fast path in front of connect-node (counting what falls through), and connect-node alone. */
async function servers(deps: KvServiceDeps) {
  const ops = createKvOperations(deps);
  const adapter = connectNodeAdapter({ routes: (router) => router.service(KV, createKvService(deps, ops)) });
  const fallbacks = { count: 0 };
  const fast = await serve(
    withFastPath([kvFastBatch(deps, ops)], (req, res) => {
      fallbacks.count++;
      adapter(req, res);
    }),
  );
  const reference = await serve(adapter);
  return { fast, reference, fallbacks };
}

const envelope = (flags: number, data: Uint8Array) => {
  const out = Buffer.alloc(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
};
const request = (init: Parameters<typeof create<typeof BatchRequestSchema>>[1]) =>
  envelope(0, toBinary(BatchRequestSchema, create(BatchRequestSchema, init)));

const CONNECT = { "content-type": "application/connect+proto" };
const GRPC = { "content-type": "application/grpc", te: "trailers" };

interface Exchange {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly messages: { flags: number; data: Buffer }[];
}

/** One Batch call with a plain HTTP/2 client: `body` sent, then half-closed; what came back. */
async function exchange(port: number, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<Exchange> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.destroy());
  const stream = session.request({ ":method": "POST", ":path": "/tinyo.v1.KV/Batch", ...headers });
  let responseHeaders: http2.IncomingHttpHeaders = {};
  let trailers: http2.IncomingHttpHeaders | undefined;
  const chunks: Buffer[] = [];
  stream.on("response", (h) => {
    responseHeaders = { ...h };
    delete responseHeaders.date;
  });
  stream.on("trailers", (t) => {
    trailers = t;
  });
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.end(body);
  await new Promise((resolve) => stream.on("close", resolve));
  session.close();
  return { headers: responseHeaders, trailers, messages: splitEnvelopes(Buffer.concat(chunks)) };
}

function splitEnvelopes(data: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at < data.length; ) {
    const length = data.readUInt32BE(at + 1);
    out.push({ flags: data[at] as number, data: data.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** The answers (in completion order, which may differ) sorted by id, and the end-stream message. */
function normalized(x: Exchange) {
  const answers = x.messages.filter((m) => m.flags === 0);
  const ids = answers.map((m) => decodeBatchResponse(m.data).id);
  const sorted = answers.map((m, i) => [ids[i] as bigint, m.data.toString("hex")] as const);
  sorted.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    headers: x.headers,
    trailers: x.trailers,
    answers: sorted,
    end: x.messages.filter((m) => m.flags !== 0).map((m) => [m.flags, m.data.toString()]),
  };
}

const get = (id: bigint, key: string) =>
  request({ id, request: { case: "get", value: { key: text.encode(key) } } });

describe("KV.Batch on the fast path", () => {
  const mix = Buffer.concat([
    request({ id: 1n, request: { case: "put", value: { key: text.encode("a"), value: text.encode("v") } } }),
    get(2n, "big"),
    get(3n, "absent"),
    request({ id: 0n, request: { case: "get", value: { key: text.encode("a") } } }),
    request({ id: 4n }),
    request({
      id: 5n,
      request: { case: "delete", value: { key: text.encode("a"), requestId: new Uint8Array(3) } },
    }),
    request({ id: 6n, request: { case: "scan", value: { partition: PARTITIONS } } }),
    request({ id: 7n, request: { case: "delete", value: { key: text.encode("a") } } }),
  ]);

  it.each([
    ["Connect", CONNECT],
    ["gRPC", GRPC],
  ])("answers in the %s protocol what connect-node answers", async (_, headers) => {
    const { fast, reference, fallbacks } = await servers(fakeDeps().deps);
    const mine = normalized(await exchange(fast, headers, mix));
    expect(fallbacks.count).toBe(0);
    const theirs = normalized(await exchange(reference, headers, mix));
    expect(mine.answers.map(([id]) => id)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(mine).toEqual(theirs);
  });

  it.each([
    ["Connect", CONNECT],
    ["gRPC", GRPC],
  ])("ends a %s stream as connect-node does on a message cut short or compressed", async (_, headers) => {
    const { fast, reference } = await servers(fakeDeps().deps);
    for (const body of [mix.subarray(0, mix.length - 2), envelope(1, new Uint8Array([8, 1]))]) {
      const mine = normalized(await exchange(fast, headers, body));
      const theirs = normalized(await exchange(reference, headers, body));
      expect(mine.end).toEqual(theirs.end);
      expect(mine.trailers).toEqual(theirs.trailers);
      expect(mine.headers).toEqual(theirs.headers);
    }
  });

  it("ends the stream with Internal on a message that is not a BatchRequest, as connect-node does", async () => {
    const { fast } = await servers(fakeDeps().deps);
    const body = Buffer.concat([get(1n, "a"), envelope(0, new Uint8Array([0xff, 0xff]))]);
    const connect = await exchange(fast, CONNECT, body);
    const end = JSON.parse(connect.messages.find((m) => m.flags === 2)?.data.toString() ?? "{}");
    expect(end.error.code).toBe("internal");
    expect(end.error.message).toMatch(/^parse binary: /);
    const grpcCall = await exchange(fast, GRPC, body);
    expect(grpcCall.trailers?.["grpc-status"]).toBe("13");
  });

  it("stops reading past 1000 requests in progress, and goes on as they are answered", async () => {
    const { deps, counts, release } = fakeDeps();
    const { fast } = await servers(deps);
    const body = Buffer.concat(Array.from({ length: 1500 }, (_, i) => get(BigInt(i + 1), `slow:${i}`)));
    const call = exchange(fast, CONNECT, body);
    await waitFor(() => counts.gets >= 1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(counts.gets).toBe(1000);
    release();
    const result = await call;
    expect(result.messages.filter((m) => m.flags === 0)).toHaveLength(1500);
    expect(result.messages.at(-1)?.data.toString()).toBe("{}");
  });

  it("stops reading when the client does not read its answers", async () => {
    const { deps, counts } = fakeDeps();
    const { fast } = await servers(deps);
    const session = http2.connect(`http://127.0.0.1:${fast}`);
    closers.push(() => session.destroy());
    const stream = session.request({ ":method": "POST", ":path": "/tinyo.v1.KV/Batch", ...CONNECT });
    stream.pause(); // no 'data' listener yet: the answers stay unread
    const count = 3000;
    stream.end(Buffer.concat(Array.from({ length: count }, (_, i) => get(BigInt(i + 1), "big"))));
    await waitFor(() => counts.gets >= 1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Answers of 64 KiB fill the flow-control window at once; the rest wait, in progress.
    expect(counts.gets).toBeGreaterThanOrEqual(1000);
    expect(counts.gets).toBeLessThan(1010);
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.resume();
    await new Promise((resolve) => stream.on("close", resolve));
    const answers = splitEnvelopes(Buffer.concat(chunks)).filter((m) => m.flags === 0).length;
    expect(answers).toBe(count);
    expect(counts.gets).toBe(count);
  });

  it.each([
    ["Connect", { ...CONNECT, "connect-timeout-ms": "200" }],
    ["gRPC", { ...GRPC, "grpc-timeout": "200m" }],
  ])("ends a %s stream with DeadlineExceeded when its deadline passes", async (protocol, headers) => {
    const { fast, fallbacks } = await servers(fakeDeps().deps);
    const result = await exchange(fast, headers, Buffer.concat([get(1n, "a"), get(2n, "slow:x")]));
    expect(fallbacks.count).toBe(0);
    expect(result.messages.filter((m) => m.flags === 0)).toHaveLength(1);
    if (protocol === "Connect") {
      const end = JSON.parse(result.messages.find((m) => m.flags === 2)?.data.toString() ?? "{}");
      expect(end.error.code).toBe("deadline_exceeded");
    } else {
      expect(result.trailers?.["grpc-status"]).toBe("4");
    }
  });

  it("leaves JSON to connect-node", async () => {
    const { fast, fallbacks } = await servers(fakeDeps().deps);
    const sessions = new Http2SessionManager(`http://127.0.0.1:${fast}`);
    closers.push(() => sessions.abort());
    const kv = createClient(
      KV,
      createConnectTransport({
        baseUrl: `http://127.0.0.1:${fast}`,
        httpVersion: "2",
        sessionManager: sessions,
        useBinaryFormat: false,
      }),
    );
    const answers = [];
    for await (const answer of kv.batch(
      (async function* () {
        yield { id: 1n, request: { case: "get" as const, value: { key: text.encode("a") } } };
      })(),
    )) {
      answers.push(answer);
    }
    expect(fallbacks.count).toBe(1);
    expect(answers.map((a) => [a.id, a.response.case])).toEqual([[1n, "get"]]);
  });

  it("serves grpc-js's bidi client", async () => {
    const { fast, fallbacks } = await servers(fakeDeps().deps);
    const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
    const definition = protoLoader.loadSync("tinyo/v1/kv.proto", {
      includeDirs: [protoDir],
      longs: String,
      oneofs: true,
    });
    // biome-ignore lint/suspicious/noExplicitAny: grpc-js builds its clients dynamically from the proto
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const client = new loaded.tinyo.v1.KV(`127.0.0.1:${fast}`, grpc.credentials.createInsecure());
    closers.push(() => client.close());
    const call = client.Batch({ deadline: Date.now() + 10_000 });
    const answers: {
      id: string;
      response: string;
      put?: { header: { index: string } };
      error?: { code: number };
    }[] = [];
    call.on("data", (answer: (typeof answers)[number]) => answers.push(answer));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.write({ id: 1, put: { key: Buffer.from("g"), value: Buffer.from("v") } });
    call.write({ id: 2, get: { key: Buffer.alloc(0) } });
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(fallbacks.count).toBe(0);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get("1")?.response).toBe("put");
    expect(Number(byId.get("1")?.put?.header.index)).toBeGreaterThan(10);
    expect(byId.get("2")?.response).toBe("error");
    expect(byId.get("2")?.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
