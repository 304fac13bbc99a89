/**
 * The KV service's validation, in memory (Connect's router transport): bad requests are refused
 * with InvalidArgument and a message naming the limit, before any routing or storage.
 */

import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KV } from "../../src/gen/tinyo/v1/kv_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { InFlight } from "../../src/node/service/in-flight.js";
import { createKvService, type KvServiceDeps } from "../../src/node/service/kv.js";
import { OpStats } from "../../src/node/service/op-stats.js";

const unreachable = new Proxy(
  {},
  {
    get(_, name) {
      throw new Error(`validation should refuse the request before using ${String(name)}`);
    },
  },
);

const deps = {
  self: nodeId(1),
  partitions: 8,
  store: unreachable,
  stateMachine: unreachable,
  outcomes: unreachable,
  routing: unreachable,
  peers: unreachable,
  inFlight: new InFlight(1),
  stats: { puts: new OpStats(), gets: new OpStats() },
} as unknown as KvServiceDeps;

const kv = createClient(
  KV,
  createRouterTransport((router) => router.service(KV, createKvService(deps))),
);
const bytes = (n: number) => new Uint8Array(n).fill(120);

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("the call succeeded");
  return error;
}

describe("KV validation", () => {
  it.each([
    [
      "an empty key",
      () => kv.put({ key: bytes(0), value: bytes(1) }),
      "the key is empty: a key must be 1 to 4096 bytes",
    ],
    [
      "a 4097-byte key",
      () => kv.put({ key: bytes(4097), value: bytes(1) }),
      "a key may be at most 4096 bytes",
    ],
    ["a 4097-byte key in a get", () => kv.get({ key: bytes(4097) }), "a key may be at most 4096 bytes"],
    ["an empty key in a delete", () => kv.delete({ key: bytes(0) }), "a key must be 1 to 4096 bytes"],
    [
      "a value over 1 MiB",
      () => kv.put({ key: bytes(1), value: bytes(1024 * 1024 + 1) }),
      "a value may be at most 1 MiB (1048576 bytes)",
    ],
    [
      "a 15-byte request id",
      () => kv.put({ key: bytes(1), value: bytes(1), requestId: bytes(15) }),
      "it must be exactly 16 bytes",
    ],
    [
      "a scan limit over 10000",
      () => kv.scan({ partition: 0, limit: 10_001 }),
      "a scan returns at most 10000 pairs",
    ],
    ["a partition out of range", () => kv.scan({ partition: 8 }), "partitions are 0 to 7"],
    [
      "an oversized scan prefix",
      () => kv.scan({ partition: 0, prefix: bytes(5000) }),
      "keys are at most 4096 bytes",
    ],
  ])("refuses %s", async (_, call, message) => {
    const error = await refusal(call());
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });

  it("refuses the same bad input in a Batch stream, per request, before any routing", async () => {
    const requests = [
      { id: 1n, request: { case: "put", value: { key: bytes(0), value: bytes(1) } } },
      { id: 2n, request: { case: "get", value: { key: bytes(4097) } } },
      { id: 3n, request: { case: "scan", value: { partition: 0, limit: 10_001 } } },
    ] as const;
    const answers: [bigint, number, string][] = [];
    for await (const response of kv.batch(
      (async function* () {
        yield* requests;
      })(),
    )) {
      if (response.response.case === "error") {
        answers.push([response.id, response.response.value.code, response.response.value.message]);
      }
    }
    expect(answers.sort((a, b) => Number(a[0] - b[0]))).toEqual([
      [1n, Code.InvalidArgument, expect.stringContaining("1 to 4096 bytes")],
      [2n, Code.InvalidArgument, expect.stringContaining("at most 4096 bytes")],
      [3n, Code.InvalidArgument, expect.stringContaining("at most 10000 pairs")],
    ]);
  });

  it("refuses new requests with Unavailable once draining", async () => {
    const draining = { ...deps, inFlight: new InFlight(1) } as KvServiceDeps;
    await draining.inFlight.drain();
    const client = createClient(
      KV,
      createRouterTransport((r) => r.service(KV, createKvService(draining))),
    );
    const error = await refusal(client.get({ key: bytes(1) }));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toMatch(/shutting down/);
  });
});
