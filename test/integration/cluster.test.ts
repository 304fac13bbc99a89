/**
 * A real 3-node cluster (three `tinyo node` processes): leaders, the KV API through every node,
 * validation, authentication, gRPC interop, failover after SIGKILL, catch-up after restart,
 * and durability of acknowledged writes across a crash of every node.
 */

import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { Consistency } from "../../src/gen/tinyo/v1/kv_pb.js";
import { nodeId, partitionId } from "../../src/node/ids.js";
import {
  balancedLeaders,
  buildPlacement,
  PLACEMENT_DEFAULTS,
  partitionOf,
} from "../../src/node/ring/index.js";
import { TestCluster, waitFor } from "./harness.js";

const text = new TextEncoder();
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe("a 3-node cluster", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: 16, tickMs: 20 });
    cluster.startAll();
    await cluster.waitForBalancedLeaders(); // leadership stays put from here while every node runs
  }, 60_000);

  afterAll(async () => {
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  });

  it("elects a leader for every partition, and every node hosts its replicas", async () => {
    const leaders = await cluster.waitForLeaders();
    expect(leaders.size).toBe(16);
    for (const node of cluster.nodes) {
      const status = await cluster.status(node.id);
      expect(status.node).toBe(node.id);
      expect(status.address).toBe(node.address);
      // 16 partitions x 3 replicas over 3 nodes: every node replicates every partition.
      expect(status.groups).toHaveLength(16);
    }
    const routes = await cluster.admin(1).routes({});
    expect(routes.partitions).toBe(16);
    expect(routes.nodes.map((n) => n.address)).toEqual(cluster.endpoints);
    // Routes names the leaders that the nodes report; leader balancing may move some between
    // two looks, so compare looks taken back to back until they agree.
    await waitFor("Routes to agree with the nodes' own view of their leaders", async () => {
      const [view, now] = await Promise.all([cluster.waitForLeaders(), cluster.admin(1).routes({})]);
      return now.routes.every((r) => r.leader === view.get(r.partition));
    });
  });

  it("answers put, get, delete and scan the same through every node", async () => {
    const clients = cluster.nodes.map((n) => new TinyoClient({ endpoints: [n.address], partitions: 16 }));
    try {
      for (const [i, client] of clients.entries()) {
        const served = await client.put(`user:${i}`, `name-${i}`);
        expect(served.partition).toBe(partitionOf(text.encode(`user:${i}`), 16));
        expect(served.leader).toBeGreaterThan(0);
        expect(served.index).toBeGreaterThan(0);
      }
      for (const client of clients) {
        for (let i = 0; i < clients.length; i++) expect(str(await client.get(`user:${i}`))).toBe(`name-${i}`);
        expect(await client.get("user:absent")).toBeUndefined();
        const scanned = await client.scan({ prefix: "user:" });
        expect(scanned.map((p) => str(p.key))).toEqual(["user:0", "user:1", "user:2"]);
        expect((await client.scan({ prefix: "user:", limit: 2 })).map((p) => str(p.key))).toEqual([
          "user:0",
          "user:1",
        ]);
        expect((await client.scan({ start: "user:1", end: "user:2" })).map((p) => str(p.key))).toEqual([
          "user:1",
        ]);
      }
      expect(await clients[2]?.delete("user:1")).toBe(true);
      expect(await clients[0]?.delete("user:1")).toBe(false);
      for (const client of clients) {
        expect(await client.get("user:1")).toBeUndefined();
        expect((await client.scan({ prefix: "user:" })).map((p) => str(p.key))).toEqual(["user:0", "user:2"]);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });

  it("carries the partition, leader, term and index in every response header", async () => {
    const key = text.encode("header:key");
    const partition = partitionOf(key, 16);
    for (const node of cluster.nodes) {
      const put = await cluster.kv(node.id).put({ key, value: text.encode(`v${node.id}`) });
      expect(put.header?.partition).toBe(partition);
      expect(put.header?.leader).toBeGreaterThan(0);
      expect(put.header?.term).toBeGreaterThan(0n);
      const got = await cluster.kv(node.id).get({ key });
      expect(got.found).toBe(true);
      expect(str(got.value)).toBe(`v${node.id}`);
      expect(got.header?.index).toBeGreaterThanOrEqual(put.header?.index ?? 0n);
      const stale = await cluster.kv(node.id).get({ key, consistency: Consistency.STALE });
      expect(stale.header?.partition).toBe(partition);
    }
  });

  it("applies a retried write (same request id) once", async () => {
    const requestId = new Uint8Array(16).fill(7);
    const key = text.encode("retry:key");
    const first = await cluster.kv(1).put({ key, value: text.encode("a"), requestId });
    await cluster.kv(2).put({ key, value: text.encode("b") });
    const retried = await cluster.kv(3).put({ key, value: text.encode("a"), requestId });
    // The retry is a new log entry (answered at commit, with its own index) that the apply skips.
    expect(retried.header?.index).toBeGreaterThan(first.header?.index ?? 0n);
    expect(str((await cluster.kv(1).get({ key })).value)).toBe("b");
  });

  it("refuses bad input with InvalidArgument naming the limit", async () => {
    const kv = cluster.kv(1);
    const expectInvalid = async (call: Promise<unknown>, limit: RegExp) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.rawMessage).toMatch(limit);
      expect(error?.rawMessage).not.toMatch(/\n\s+at /); // no stack trace
    };
    await expectInvalid(kv.put({ key: new Uint8Array(0), value: text.encode("v") }), /1 to 4096 bytes/);
    await expectInvalid(
      kv.put({ key: new Uint8Array(4097).fill(97), value: new Uint8Array(1) }),
      /4096 bytes/,
    );
    await expectInvalid(kv.get({ key: new Uint8Array(4097).fill(97) }), /4096 bytes/);
    await expectInvalid(kv.put({ key: text.encode("big"), value: new Uint8Array(1024 * 1024 + 1) }), /1 MiB/);
    await expectInvalid(kv.delete({ key: new Uint8Array(0) }), /1 to 4096 bytes/);
    await expectInvalid(kv.scan({ partition: 0, limit: 10_001 }), /at most 10000/);
    await expectInvalid(kv.scan({ partition: 16 }), /partitions are 0 to 15/);
    await expectInvalid(
      kv.put({ key: text.encode("k"), value: text.encode("v"), requestId: new Uint8Array(3) }),
      /exactly 16 bytes/,
    );
    // The largest value is accepted.
    const ok = await kv.put({ key: text.encode("big"), value: new Uint8Array(1024 * 1024).fill(1) });
    expect(ok.header?.index).toBeGreaterThan(0n);
  });

  it("rejects Raft traffic with a wrong cluster token (Unauthenticated)", async () => {
    const error = await cluster
      .raft(2)
      .send({ clusterToken: "not-the-token", fromNode: 1, messages: [] })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(error?.code).toBe(Code.Unauthenticated);
  });

  it("serves a plain gRPC client (grpc-js with the proto files)", async () => {
    const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
    const definition = protoLoader.loadSync("tinyo/v1/kv.proto", { includeDirs: [protoDir], longs: String });
    // biome-ignore lint/suspicious/noExplicitAny: grpc-js builds its clients dynamically from the proto
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const client = new loaded.tinyo.v1.KV(cluster.node(2).address, grpc.credentials.createInsecure());
    const call = <T>(method: string, request: object) =>
      new Promise<T>((done, fail) =>
        client[method](request, { deadline: Date.now() + 5000 }, (error: Error | null, response: T) =>
          error ? fail(error) : done(response),
        ),
      );
    try {
      const put = await call<{ header: { partition: number; leader: number } }>("Put", {
        key: Buffer.from("grpc:key"),
        value: Buffer.from("from grpc-js"),
      });
      expect(put.header.partition).toBe(partitionOf(text.encode("grpc:key"), 16));
      const got = await call<{ found: boolean; value: Buffer }>("Get", { key: Buffer.from("grpc:key") });
      expect(got.found).toBe(true);
      expect(got.value.toString()).toBe("from grpc-js");
      const bad = await call("Get", { key: Buffer.alloc(0) }).catch((e: grpc.ServiceError) => e);
      expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it("moves a partition's leadership with Admin.TransferLeader, asked of any node", async () => {
    const leaders = await cluster.waitForLeaders();
    const from = leaders.get(5) as number;
    const to = (from % 3) + 1;
    const other = 6 - from - to; // neither the leader nor the target: it forwards
    const response = await cluster.admin(other).transferLeader({ partition: 5, to }, { timeoutMs: 8000 });
    expect(response.leader).toBe(to);
    expect((await cluster.waitForLeaders()).get(5)).toBe(to);
    const error = await cluster
      .admin(1)
      .transferLeader({ partition: 5, to: 9 })
      .catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("keeps serving a key after its leader is SIGKILLed, and the restarted node catches up", async () => {
    const client = new TinyoClient({ endpoints: cluster.endpoints, partitions: 16, deadlineMs: 8000 });
    try {
      const key = "failover:key";
      await client.put(key, "before");
      const partition = partitionOf(text.encode(key), 16);
      const leaders = await cluster.waitForLeaders();
      const victim = leaders.get(partition) as number;
      expect(await cluster.stop(victim, "SIGKILL")).toBe(null);

      await waitFor(
        "a write to the failed-over partition",
        () => client.put(key, "after").then(() => true),
        10_000,
      );
      expect(str(await client.get(key))).toBe("after");
      for (let i = 0; i < 20; i++) await client.put(`failover:${i}`, `v${i}`);

      cluster.start(victim);
      await cluster.waitForLeaders();
      await waitFor(
        `node ${victim} to catch up`,
        async () => {
          const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
          const restarted = statuses.find((s) => s.node === victim);
          if (!restarted) return false;
          return restarted.groups.every((g) =>
            statuses.every(
              (s) =>
                (s.groups.find((o) => o.partition === g.partition)?.appliedIndex ?? 0n) <= g.appliedIndex,
            ),
          );
        },
        15_000,
      );
      // The restarted node serves the data it caught up on, without a barrier even.
      const direct = cluster.kv(victim);
      const stale = await direct.get({ key: text.encode("failover:19"), consistency: Consistency.STALE });
      expect(str(stale.value)).toBe("v19");
    } finally {
      client.close();
    }
  }, 60_000);

  it("shuts down gracefully on SIGTERM (exit 0), handing its leaderships off first, and comes back", async () => {
    expect(await cluster.stop(3, "SIGTERM")).toBe(0);
    const log = cluster.log(3);
    expect(log).toContain('"event":"stopped"');
    const handOff = log.split("\n").find((line) => line.includes('"event":"leaders_handed_off"'));
    expect(handOff, "the hand-off line").toBeDefined();
    expect(JSON.parse(handOff as string)).toMatchObject({ kept: 0 });
    cluster.start(3);
    await cluster.waitForLeaders();
  }, 30_000);

  it("balances leadership: every partition ends up led by its balanced leader, node 3 included", async () => {
    const routes = await cluster.admin(1).routes({});
    const placement = buildPlacement({
      members: [1, 2, 3].map(nodeId),
      partitions: 16,
      vnodes: PLACEMENT_DEFAULTS.vnodes,
      replication: 3,
    });
    const table = balancedLeaders(placement);
    expect(routes.routes.map((r) => [...r.replicas])).toEqual(
      table.map((_, p) => [...placement.preferenceList(partitionId(p))]),
    );
    await waitFor(
      "every partition led by its balanced leader",
      async () => {
        const leaders = await cluster.waitForLeaders();
        return table.every((leader, p) => leaders.get(p) === leader);
      },
      30_000,
      200,
    );
    expect(cluster.log(1) + cluster.log(2) + cluster.log(3)).toContain('"event":"store.leader_balanced"');
  }, 40_000);

  it("keeps every acknowledged write when all nodes are SIGKILLed under load", async () => {
    const client = new TinyoClient({ endpoints: cluster.endpoints, partitions: 16, deadlineMs: 2000 });
    const acknowledged = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `crash:${w}:${i}`;
        try {
          await client.put(key, `value-${w}-${i}`);
          acknowledged.set(key, `value-${w}-${i}`);
        } catch {
          return; // the cluster is gone
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await waitFor("some writes to be acknowledged", () => acknowledged.size >= 100, 20_000);
    await Promise.all(cluster.nodes.map((n) => cluster.stop(n.id, "SIGKILL")));
    stop = true;
    await Promise.all(writers);
    client.close();
    expect(acknowledged.size).toBeGreaterThanOrEqual(100);

    cluster.startAll();
    await cluster.waitForLeaders(30_000);
    const reader = new TinyoClient({ endpoints: cluster.endpoints, partitions: 16, deadlineMs: 8000 });
    try {
      const keys = [...acknowledged.keys()];
      for (let i = 0; i < keys.length; i += 50) {
        const batch = keys.slice(i, i + 50);
        const values = await Promise.all(batch.map((k) => reader.get(k)));
        batch.forEach((k, j) => {
          expect(str(values[j]), k).toBe(acknowledged.get(k));
        });
      }
      const scanned = await reader.scan({ prefix: "crash:" });
      expect(scanned.length).toBeGreaterThanOrEqual(acknowledged.size);
    } finally {
      reader.close();
    }
  }, 90_000);
});

describe("a 5-node cluster with replication 3", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(5, { partitions: 8, tickMs: 20 });
    cluster.startAll();
    await cluster.waitForBalancedLeaders();
  }, 60_000);

  afterAll(async () => {
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  });

  it("serves every key through every node, replica of its partition or not", async () => {
    const routes = await cluster.admin(1).routes({});
    expect(routes.routes.every((r) => r.replicas.length === 3)).toBe(true);
    // Nodes that lack a partition forward its requests; each hosts exactly its replicas.
    const lacking = cluster.nodes.filter((node) => routes.routes.some((r) => !r.replicas.includes(node.id)));
    expect(lacking.length).toBeGreaterThanOrEqual(2);
    for (const node of cluster.nodes) {
      const hosted = routes.routes.filter((r) => r.replicas.includes(node.id)).length;
      expect((await cluster.status(node.id)).groups.length).toBe(hosted);
    }
    const keys = Array.from({ length: 24 }, (_, i) => `spread:${String(i).padStart(2, "0")}`);
    await Promise.all(
      keys.map((key, i) =>
        cluster.kv((i % 5) + 1).put({ key: text.encode(key), value: text.encode(`v${i}`) }),
      ),
    );
    for (const node of cluster.nodes) {
      const kv = cluster.kv(node.id);
      // Keys concurrently, so that the test's time does not grow with the machine's load per
      // request; per key the linearizable read first: it waits for this replica to apply the
      // write, which the stale read then must see.
      await Promise.all(
        keys.map(async (key, i) => {
          for (const consistency of [Consistency.LINEARIZABLE, Consistency.STALE]) {
            const got = await kv.get({ key: text.encode(key), consistency });
            expect(str(got.value), `${key} via node ${node.id}, ${Consistency[consistency]}`).toBe(`v${i}`);
          }
        }),
      );
      const scanned: string[] = [];
      for (let partition = 0; partition < 8; partition++) {
        const page = await kv.scan({ partition, prefix: text.encode("spread:") });
        scanned.push(...page.pairs.map((p) => str(p.key) as string));
      }
      expect(scanned.sort()).toEqual(keys);
    }
    for (const node of cluster.nodes) {
      const deleted = await cluster.kv(node.id).delete({ key: text.encode(keys[node.id] as string) });
      expect(deleted.existed).toBe(true);
    }
    const client = new TinyoClient({ endpoints: [cluster.node(5).address] });
    try {
      expect((await client.scan({ prefix: "spread:" })).length).toBe(keys.length - cluster.nodes.length);
    } finally {
      client.close();
    }
  }, 60_000);

  it("pages a scan with more and resume_key", async () => {
    const kv = cluster.kv(2);
    const keys = Array.from({ length: 30 }, (_, i) => `page:${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((k) => kv.put({ key: text.encode(k), value: text.encode(k) })));
    const partition = partitionOf(text.encode(keys[0] as string), 8);
    const expected = keys.filter((k) => partitionOf(text.encode(k), 8) === partition);
    const seen: string[] = [];
    let start: Uint8Array = new Uint8Array(0);
    for (let pages = 0; pages < 100; pages++) {
      const page = await kv.scan({ partition, prefix: text.encode("page:"), start, limit: 2 });
      seen.push(...page.pairs.map((p) => str(p.key) as string));
      if (!page.more) break;
      expect(page.pairs).toHaveLength(2);
      start = page.resumeKey;
    }
    expect(seen).toEqual(expected);
  }, 30_000);
});
