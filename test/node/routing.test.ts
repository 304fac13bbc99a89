/**
 * Routing of client requests, with a fake store: serve here when this node leads (writes) or
 * replicates (reads), forward once otherwise, retry while no leader is known, and give up with
 * Unavailable naming the partition at the deadline.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FORWARDED_HEADER, LEADER_HINT_HEADER } from "../../src/client/wire.js";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import { buildPlacement } from "../../src/node/ring/index.js";
import { unavailable } from "../../src/node/service/errors.js";
import { type Route, Routing } from "../../src/node/service/routing.js";
import { NotLeaderError } from "../../src/node/store/errors.js";
import type { Store } from "../../src/node/store/store.js";

const members = [1, 2, 3, 4].map(nodeId);
const placement = buildPlacement({ members, partitions: 8, vnodes: 16, replication: 3 });
const self = nodeId(1);
const hosted = placement.partitionsOf(self);
const notHosted = [...Array(8).keys()].map(partitionId).find((p) => !hosted.includes(p)) as PartitionId;
const p = hosted[0] as PartitionId;

/** A store whose leaders the test sets. */
function fakeStore(leaders: Map<PartitionId, NodeId | 0>) {
  return {
    groupStatus: (partition: PartitionId) =>
      hosted.includes(partition) ? { partition, leader: leaders.get(partition) ?? 0, term: 3 } : undefined,
  } as unknown as Store;
}

const route = (partition: PartitionId, ms = 1000, forwarded = false): Route => ({
  partition,
  deadline: Date.now() + ms,
  retryUntil: Date.now() + ms,
  signal: new AbortController().signal,
  forwarded,
});

async function fails(promise: Promise<unknown>): Promise<ConnectError> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => ConnectError.from(e),
  );
}

describe("Routing", () => {
  it("serves a write here when this node leads", async () => {
    const routing = new Routing(self, fakeStore(new Map([[p, self]])), () => placement);
    const result = await routing.write(
      route(p),
      async () => "local",
      async () => "forwarded",
    );
    expect(result).toBe("local");
  });

  it("forwards a write to the leader, marked as forwarded, with the remaining deadline", async () => {
    const leader = placement.preferenceList(p).find((n) => n !== self) as NodeId;
    const routing = new Routing(self, fakeStore(new Map([[p, leader]])), () => placement);
    const calls: { to: NodeId; timeoutMs: number; mark: string | null }[] = [];
    const result = await routing.write(
      route(p, 2000),
      async () => "local",
      async (to, call) => {
        calls.push({ to, timeoutMs: call.timeoutMs, mark: call.headers.get(FORWARDED_HEADER) });
        return "forwarded";
      },
    );
    expect(result).toBe("forwarded");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.to).toBe(leader);
    expect(calls[0]?.mark).toBe("1");
    expect(calls[0]?.timeoutMs).toBeGreaterThan(1500);
  });

  it("never forwards a forwarded request: Unavailable with the leader hint", async () => {
    const leader = placement.preferenceList(p).find((n) => n !== self) as NodeId;
    const routing = new Routing(self, fakeStore(new Map([[p, leader]])), () => placement);
    const error = await fails(
      routing.write(
        route(p, 1000, true),
        async () => "local",
        async () => "forwarded",
      ),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.metadata.get(LEADER_HINT_HEADER)).toBe(String(leader));
    expect(error.rawMessage).toContain(`node ${leader} does`);
  });

  it("waits for an election, then serves", async () => {
    const leaders = new Map<PartitionId, NodeId | 0>([[p, 0]]);
    const routing = new Routing(self, fakeStore(leaders), () => placement);
    setTimeout(() => leaders.set(p, self), 100);
    const started = Date.now();
    expect(
      await routing.write(
        route(p, 2000),
        async () => "local",
        async () => "forwarded",
      ),
    ).toBe("local");
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("gives up at the deadline with Unavailable naming the partition", async () => {
    const routing = new Routing(self, fakeStore(new Map([[p, 0]])), () => placement);
    const error = await fails(
      routing.write(
        route(p, 200),
        async () => "local",
        async () => "forwarded",
      ),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain(`partition ${p} could not be served before the deadline`);
  });

  it("retries when the store says leadership moved", async () => {
    const leaders = new Map<PartitionId, NodeId | 0>([[p, self]]);
    const routing = new Routing(self, fakeStore(leaders), () => placement);
    const other = placement.preferenceList(p).find((n) => n !== self) as NodeId;
    const result = await routing.write(
      route(p),
      async () => {
        leaders.set(p, other);
        throw new NotLeaderError(p, other);
      },
      async (to) => `forwarded to ${to}`,
    );
    expect(result).toBe(`forwarded to ${other}`);
  });

  it("reads here on any replica, leader or not", async () => {
    const routing = new Routing(self, fakeStore(new Map([[p, 0]])), () => placement);
    expect(
      await routing.read(
        route(p),
        async () => "local",
        async () => "forwarded",
      ),
    ).toBe("local");
  });

  it("on a non-replica, tries the replicas and follows a leader hint", async () => {
    const routing = new Routing(self, fakeStore(new Map()), () => placement);
    const replicas = placement.preferenceList(notHosted);
    const leader = replicas[replicas.length - 1] as NodeId;
    const tried: NodeId[] = [];
    const result = await routing.write(
      route(notHosted),
      async () => "local",
      async (to) => {
        tried.push(to);
        if (to !== leader) throw unavailable("not the leader", notHosted, leader);
        return "served by the leader";
      },
    );
    expect(result).toBe("served by the leader");
    expect(tried[tried.length - 1]).toBe(leader);
    expect(routing.leaderOf(notHosted).leader).toBe(leader);
  });

  it("passes other errors through at once", async () => {
    const leader = placement.preferenceList(p).find((n) => n !== self) as NodeId;
    const routing = new Routing(self, fakeStore(new Map([[p, leader]])), () => placement);
    const error = await fails(
      routing.write(
        route(p),
        async () => "local",
        async () => {
          throw new ConnectError("bad key", Code.InvalidArgument);
        },
      ),
    );
    expect(error.code).toBe(Code.InvalidArgument);
  });
});
