/**
 * The KV.Batch stream on a real 3-node cluster: many requests over one stream through a node
 * that leads none of their partitions, answers in completion order with their ids, invalid
 * requests answered without ending the stream, a retried request id applied once, and the
 * TypeScript client's batch API.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import {
  type BatchRequestSchema,
  type BatchResponse,
  Consistency,
  type KV,
} from "../../src/gen/tinyo/v1/kv_pb.js";
import { partitionOf } from "../../src/node/ring/index.js";
import { TestCluster } from "./harness.js";

const PARTITIONS = 8;
const text = new TextEncoder();
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

type BatchRequestInit = MessageInitShape<typeof BatchRequestSchema>;

/** Sends every request over one stream (then half-closes); the answers in the order they came. */
async function batch(kv: Client<typeof KV>, requests: readonly BatchRequestInit[]): Promise<BatchResponse[]> {
  const responses: BatchResponse[] = [];
  const stream = kv.batch(
    (async function* () {
      yield* requests;
    })(),
    { timeoutMs: 60_000 }, // generous: a loaded machine (2 CPUs, other clusters) makes Raft slow
  );
  for await (const response of stream) responses.push(response);
  return responses;
}

/** The answers by id; fails if an id is answered twice. */
function byId(responses: readonly BatchResponse[]): Map<bigint, BatchResponse["response"]> {
  const answers = new Map<bigint, BatchResponse["response"]>();
  for (const response of responses) {
    expect(answers.has(response.id), `request ${response.id} answered twice`).toBe(false);
    answers.set(response.id, response.response);
  }
  return answers;
}

describe("KV.Batch on a 3-node cluster", () => {
  let cluster: TestCluster;
  let leaders: Map<number, number>;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 20 });
    cluster.startAll();
    // The tests send through followers of chosen partitions: let leader balancing finish first.
    leaders = await cluster.waitForBalancedLeaders();
  }, 60_000);

  afterAll(async () => {
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  });

  /** `count` keys with `prefix` whose partitions `node` does not lead. */
  const keysLedElsewhere = (node: number, prefix: string, count: number): string[] => {
    const keys: string[] = [];
    for (let i = 0; keys.length < count; i++) {
      const key = `${prefix}${i}`;
      if (leaders.get(partitionOf(text.encode(key), PARTITIONS)) !== node) keys.push(key);
    }
    return keys;
  };

  it("carries 1,000 puts over one stream through a follower, and reads them back", async () => {
    const via = 1;
    leaders = await cluster.waitForLeaders();
    const keys = keysLedElsewhere(via, "bulk:", 1000);
    const puts = await batch(
      cluster.kv(via),
      keys.map((key, i) => ({
        id: BigInt(i + 1),
        request: { case: "put", value: { key: text.encode(key), value: text.encode(`value-${i}`) } },
      })),
    );
    expect(puts).toHaveLength(1000);
    const answers = byId(puts);
    keys.forEach((key, i) => {
      const answer = answers.get(BigInt(i + 1));
      expect(answer?.case, `${key}: ${answer?.case === "error" ? answer.value.message : ""}`).toBe("put");
      if (answer?.case !== "put") return;
      expect(answer.value.header?.partition).toBe(partitionOf(text.encode(key), PARTITIONS));
      expect(answer.value.header?.leader).toBeGreaterThan(0);
      expect(answer.value.header?.index).toBeGreaterThan(0n);
    });

    const gets = byId(
      await batch(
        cluster.kv(via),
        keys.map((key, i) => ({
          id: BigInt(i + 1),
          request: { case: "get", value: { key: text.encode(key) } },
        })),
      ),
    );
    keys.forEach((key, i) => {
      const answer = gets.get(BigInt(i + 1));
      expect(answer?.case === "get" && answer.value.found, key).toBe(true);
      expect(answer?.case === "get" ? str(answer.value.value) : undefined).toBe(`value-${i}`);
    });
  }, 90_000);

  it("answers each request as it completes: a slow write after the fast reads sent behind it", async () => {
    // The leader's Raft messages to its peers are delayed, so a write to a partition it leads
    // waits for that delay, while stale reads there are served from its own state at once.
    const slowKey = "slow:key";
    const via = (await cluster.waitForLeaders()).get(partitionOf(text.encode(slowKey), PARTITIONS)) as number;
    await cluster.admin(via).setFaults({ rules: [{ peer: 0, direction: FaultDirection.OUT, delayMs: 100 }] });
    try {
      const requests: BatchRequestInit[] = [
        {
          id: 1n,
          request: {
            case: "put",
            value: { key: text.encode(slowKey), value: text.encode("slow") },
          },
        },
        ...Array.from({ length: 50 }, (_, i) => ({
          id: BigInt(i + 2),
          request: {
            case: "get" as const,
            value: { key: text.encode(`fast:${i}`), consistency: Consistency.STALE },
          },
        })),
      ];
      const responses = await batch(cluster.kv(via), requests);
      const answers = byId(responses);
      expect([...answers.keys()].sort((a, b) => Number(a - b))).toEqual(requests.map((r) => r.id));
      expect(answers.get(1n)?.case).toBe("put");
      for (let id = 2n; id <= 51n; id++) expect(answers.get(id)?.case).toBe("get");
      // The write, sent first, was not answered first.
      expect(responses.findIndex((r) => r.id === 1n)).toBeGreaterThan(0);
    } finally {
      await cluster.admin(via).clearFaults({});
    }
  });

  it("answers an invalid request in the middle with InvalidArgument and goes on", async () => {
    const put = (id: bigint, key: string) =>
      ({ id, request: { case: "put", value: { key: text.encode(key), value: text.encode(key) } } }) as const;
    const responses = await batch(cluster.kv(3), [
      put(1n, "mid:1"),
      put(2n, "mid:2"),
      { id: 3n, request: { case: "put", value: { key: new Uint8Array(0), value: text.encode("v") } } },
      { id: 4n },
      { id: 5n, request: { case: "get", value: { key: new Uint8Array(4097) } } },
      put(6n, "mid:6"),
      { id: 7n, request: { case: "get", value: { key: text.encode("mid:1") } } },
    ]);
    const answers = byId(responses);
    expect(answers.size).toBe(7);
    for (const id of [1n, 2n, 6n]) expect(answers.get(id)?.case).toBe("put");
    for (const [id, message] of [
      [3n, "1 to 4096 bytes"],
      [4n, "carries no request"],
      [5n, "at most 4096 bytes"],
    ] as const) {
      const answer = answers.get(id);
      expect(answer?.case).toBe("error");
      if (answer?.case !== "error") continue;
      expect(answer.value.code).toBe(Code.InvalidArgument);
      expect(answer.value.message).toContain(message);
    }
    // Requests of a stream run concurrently: the get is not ordered after the put sent before it.
    expect(answers.get(7n)?.case).toBe("get");
  });

  it("applies a retried request id once, whichever node's stream carries it", async () => {
    const key = text.encode("batch-retry:key");
    const requestId = new Uint8Array(16).fill(9);
    const first = byId(
      await batch(cluster.kv(2), [
        { id: 1n, request: { case: "put", value: { key, value: text.encode("a"), requestId } } },
      ]),
    ).get(1n);
    await cluster.kv(1).put({ key, value: text.encode("b") });
    const retried = byId(
      await batch(cluster.kv(3), [
        { id: 1n, request: { case: "put", value: { key, value: text.encode("a"), requestId } } },
        { id: 2n, request: { case: "delete", value: { key: text.encode("batch-retry:absent"), requestId } } },
      ]),
    );
    expect(first?.case).toBe("put");
    const again = retried.get(1n);
    expect(again?.case).toBe("put");
    if (first?.case !== "put" || again?.case !== "put") return;
    // A new entry, answered at commit with its own index, that the apply skips.
    expect(again.value.header?.index).toBeGreaterThan(first.value.header?.index ?? 0n);
    expect(str((await cluster.kv(1).get({ key })).value)).toBe("b");
  });

  it("serves the client's batch API: puts, gets and deletes routed to the leaders", async () => {
    const client = new TinyoClient({
      endpoints: cluster.endpoints,
      partitions: PARTITIONS,
      deadlineMs: 20_000,
    });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `client:${String(i).padStart(3, "0")}`);
      const served = await client.putMany(keys.map((key) => [key, `v-${key}`] as const));
      expect(served).toHaveLength(300);
      served.forEach((s, i) => {
        expect(s.partition).toBe(partitionOf(text.encode(keys[i] as string), PARTITIONS));
        expect(s.index).toBeGreaterThan(0);
      });

      const session = client.batch();
      const values = await Promise.all(keys.map((key) => session.get(key)));
      expect(values.map(str)).toEqual(keys.map((key) => `v-${key}`));
      const existed = await Promise.all(keys.slice(0, 100).map((key) => session.delete(key)));
      expect(existed.every(Boolean)).toBe(true);
      expect(await session.delete(keys[0] as string)).toBe(false);
      expect(await session.get(keys[0] as string)).toBeUndefined();
      const error = await session.put("", "v").catch((e: unknown) => e);
      expect((error as { code?: Code }).code).toBe(Code.InvalidArgument);
      await session.close();
      await expect(session.get("client:200")).rejects.toThrow(/closed/);

      expect((await client.scan({ prefix: "client:" })).length).toBe(200);
    } finally {
      client.close();
    }
  }, 60_000);
});
