/**
 * The KV Batch stream in memory (Connect's router transport), over the real service with a fake
 * store and state machine: answers in completion order with their ids, malformed requests
 * answered with InvalidArgument without ending the stream, an id in use refused, failures
 * answered with their code and leader hint, and a clean end after the client half-closes.
 */

import { create } from "@bufbuild/protobuf";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  type BatchRequest,
  BatchRequestSchema,
  type BatchResponse,
  KV,
} from "../../src/gen/tinyo/v1/kv_pb.js";
import { nodeId, type PartitionId } from "../../src/node/ids.js";
import { partitionOf } from "../../src/node/ring/index.js";
import { unavailable } from "../../src/node/service/errors.js";
import { InFlight } from "../../src/node/service/in-flight.js";
import { createKvService, type KvServiceDeps } from "../../src/node/service/kv.js";
import { OpStats } from "../../src/node/service/op-stats.js";

const text = new TextEncoder();
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const PARTITIONS = 8;

/** A node that leads every partition, whose reads of a key wait until the test releases it. */
function fakeNode(options: { failWritesWith?: Error; draining?: boolean } = {}) {
  const values = new Map<string, Uint8Array>();
  const gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  let index = 10;
  const gate = (key: string) => {
    let entry = gates.get(key);
    if (!entry) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      entry = { opened, open };
      gates.set(key, entry);
    }
    return entry;
  };
  const deps = {
    self: nodeId(1),
    partitions: PARTITIONS,
    store: {
      groupStatus: (partition: PartitionId) => ({ partition, leader: 1, term: 2 }),
      readBarrier: async () => {},
      propose: async () => ({ index: ++index, term: 2 }),
    },
    stateMachine: {
      appliedIndex: () => index,
      get: async (_: PartitionId, key: Uint8Array) => {
        const name = str(key);
        if (name.startsWith("slow:")) await gate(name).opened;
        return values.get(name);
      },
    },
    outcomes: { outcomeOf: () => undefined },
    routing: {
      route: (partition: PartitionId) => ({ partition }),
      leaderOf: () => ({ leader: 2, term: 2 }),
      noteLeader: () => {},
      read: (_: unknown, local: () => Promise<unknown>) => local(),
      write: async (_: unknown, local: () => Promise<unknown>) => {
        if (options.failWritesWith) throw options.failWritesWith;
        return local();
      },
    },
    peers: {},
    inFlight: new InFlight(1),
    stats: { puts: new OpStats(), gets: new OpStats() },
  } as unknown as KvServiceDeps;
  if (options.draining) void deps.inFlight.drain();
  const kv = createClient(
    KV,
    createRouterTransport((router) => router.service(KV, createKvService(deps))),
  );
  return { kv, release: (key: string) => gate(key).open() };
}

/** A request stream the test feeds, and ends. */
function requestStream() {
  const queue: BatchRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* iterate() {
    for (;;) {
      const next = queue.shift();
      if (next) yield next;
      else if (ended) return;
      else
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
    }
  }
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    requests: iterate(),
    send(...requests: Parameters<typeof create<typeof BatchRequestSchema>>[1][]) {
      for (const r of requests) queue.push(create(BatchRequestSchema, r));
      poke();
    },
    end() {
      ended = true;
      poke();
    },
  };
}

describe("KV.Batch", () => {
  it("answers each request with its id as soon as it is ready, then ends", async () => {
    const { kv, release } = fakeNode();
    const stream = requestStream();
    const responses: BatchResponse[] = [];
    const reading = (async () => {
      for await (const response of kv.batch(stream.requests)) {
        responses.push(response);
        if (response.id === 2n) release("slow:a"); // only once the fast one is answered
      }
    })();
    stream.send(
      { id: 1n, request: { case: "get", value: { key: text.encode("slow:a") } } },
      { id: 2n, request: { case: "put", value: { key: text.encode("fast"), value: text.encode("v") } } },
    );
    stream.end();
    await reading;
    expect(responses.map((r) => r.id)).toEqual([2n, 1n]);
    expect(responses[0]?.response.case).toBe("put");
    const put = responses[0]?.response.value as { header?: { partition: number; index: bigint } };
    expect(put.header?.partition).toBe(partitionOf(text.encode("fast"), PARTITIONS));
    expect(put.header?.index).toBe(11n);
    expect(responses[1]?.response.case).toBe("get");
  });

  it("answers malformed and invalid requests with InvalidArgument, and goes on", async () => {
    const { kv } = fakeNode();
    const stream = requestStream();
    stream.send(
      { id: 1n, request: { case: "put", value: { key: text.encode("k1"), value: text.encode("v") } } },
      { id: 0n, request: { case: "get", value: { key: text.encode("k1") } } },
      { id: 2n },
      { id: 3n, request: { case: "put", value: { key: new Uint8Array(0), value: text.encode("v") } } },
      { id: 4n, request: { case: "scan", value: { partition: PARTITIONS } } },
      {
        id: 5n,
        request: { case: "delete", value: { key: text.encode("k1"), requestId: new Uint8Array(3) } },
      },
      { id: 6n, request: { case: "get", value: { key: text.encode("k1") } } },
    );
    stream.end();
    const responses = await collect(kv.batch(stream.requests));
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect(responses).toHaveLength(7);
    expect(byId.get(1n)?.response.case).toBe("put");
    expect(byId.get(6n)?.response.case).toBe("get");
    for (const [id, message] of [
      [0n, "must not be 0"],
      [2n, "carries no request"],
      [3n, "a key must be 1 to 4096 bytes"],
      [4n, "partitions are 0 to 7"],
      [5n, "exactly 16 bytes"],
    ] as const) {
      const answer = byId.get(id)?.response;
      expect(answer?.case, `request ${id}`).toBe("error");
      if (answer?.case !== "error") continue;
      expect(answer.value.code).toBe(Code.InvalidArgument);
      expect(answer.value.message).toContain(message);
    }
  });

  it("refuses an id already in progress on the stream, and accepts it again once answered", async () => {
    const { kv, release } = fakeNode();
    const stream = requestStream();
    const responses: BatchResponse[] = [];
    const reading = (async () => {
      for await (const response of kv.batch(stream.requests)) {
        responses.push(response);
        if (responses.length === 1) release("slow:x");
        if (responses.length === 2) {
          stream.send({ id: 7n, request: { case: "get", value: { key: text.encode("k") } } });
          stream.end();
        }
      }
    })();
    stream.send(
      { id: 7n, request: { case: "get", value: { key: text.encode("slow:x") } } },
      { id: 7n, request: { case: "get", value: { key: text.encode("other") } } },
    );
    await reading;
    expect(responses.map((r) => [r.id, r.response.case])).toEqual([
      [7n, "error"],
      [7n, "get"],
      [7n, "get"],
    ]);
    const refused = responses[0]?.response;
    expect(refused?.case === "error" && refused.value.code).toBe(Code.InvalidArgument);
    expect(refused?.case === "error" && refused.value.message).toMatch(/already in use/);
  });

  it("answers a failed request with its code, message and leader hint", async () => {
    const key = text.encode("w");
    const partition = partitionOf(key, PARTITIONS);
    const { kv } = fakeNode({ failWritesWith: unavailable("no leader here", partition, nodeId(3)) });
    const stream = requestStream();
    stream.send(
      { id: 1n, request: { case: "put", value: { key, value: key } } },
      { id: 2n, request: { case: "get", value: { key } } },
    );
    stream.end();
    const responses = await collect(kv.batch(stream.requests));
    const failed = responses.find((r) => r.id === 1n)?.response;
    expect(failed?.case).toBe("error");
    if (failed?.case !== "error") return;
    expect(failed.value.code).toBe(Code.Unavailable);
    expect(failed.value.message).toBe("no leader here");
    expect(failed.value.header?.partition).toBe(partition);
    expect(failed.value.header?.leader).toBe(3);
    expect(responses.find((r) => r.id === 2n)?.response.case).toBe("get");
  });

  it("answers Unavailable for each request once the node is draining", async () => {
    const { kv } = fakeNode({ draining: true });
    const stream = requestStream();
    stream.send({ id: 1n, request: { case: "get", value: { key: text.encode("k") } } });
    stream.end();
    const [response] = await collect(kv.batch(stream.requests));
    expect(response?.response.case === "error" && response.response.value.code).toBe(Code.Unavailable);
    expect(response?.response.case === "error" && response.response.value.header?.leader).toBe(2);
  });
});

async function collect(responses: AsyncIterable<BatchResponse>): Promise<BatchResponse[]> {
  const out: BatchResponse[] = [];
  for await (const response of responses) out.push(response);
  return out;
}
