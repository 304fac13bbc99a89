/**
 * Membership through real node processes: a 3-node cluster refuses a removal that would leave
 * fewer nodes than the replication factor, a join with bad input, and a joining node started with
 * another partition count (which exits 1 with the cluster's value); a node joins with --join,
 * gets its replicas and serves them, and is removed again. Every state-changing Admin call needs
 * the cluster token: without it, or with a wrong one, it is refused (Unauthenticated) and nothing
 * changes, and a node started with a wrong --token cannot join.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { Admin, FaultDirection, Role } from "../../src/gen/tinyo/v1/admin_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { buildPlacement } from "../../src/node/ring/index.js";
import { OPEN_ADMIN_METHODS } from "../../src/node/service/admin-auth.js";
import { freePorts, runCli, TestCluster, waitFor } from "./harness.js";

const PARTITIONS = 8;
let cluster: TestCluster;
let root: string;

beforeAll(async () => {
  cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 20 });
  cluster.startAll();
  await cluster.waitForLeaders(30_000);
  root = mkdtempSync(join(tmpdir(), "tinyo-join-"));
}, 60_000);

afterAll(async () => {
  await cluster?.killAll();
  cluster?.removeData();
  rmSync(root, { recursive: true, force: true });
});

const refusal = async (call: Promise<unknown>): Promise<ConnectError> => {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
};

/** Runs a node 4 that asks node 1 to join, for a join that must fail: its exit code and output. */
async function joinThroughNode1(data: string, partitions: number, token: string) {
  const [port] = (await freePorts(1)) as [number];
  return runCli([
    "node",
    "--id",
    "4",
    "--listen",
    `127.0.0.1:${port}`,
    "--join",
    cluster.node(1).address,
    "--data",
    join(root, data),
    "--partitions",
    String(partitions),
    "--token",
    token,
  ]);
}

describe("the Admin service's cluster token", () => {
  it("opens only methods of Admin", () => {
    const names = Admin.methods.map((m) => m.name);
    for (const open of OPEN_ADMIN_METHODS) expect(names).toContain(open);
  });

  it("refuses every state-changing call without the token or with a wrong one, and nothing changes", async () => {
    // Refused before its handler runs (the code says so); leadership is not compared after, as
    // elections and leader balancing move it on their own on a loaded machine.
    const leaders = await cluster.waitForLeaders(30_000);
    const before = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
    const other = leaders.get(0) === 1 ? 2 : 1;
    const settings = { partitions: PARTITIONS, replication: 3, vnodes: 64 };
    for (const token of [undefined, "not-the-cluster-token"]) {
      const admin = cluster.adminWithToken(other, token);
      const calls: [string, () => Promise<unknown>][] = [
        ["Join", () => admin.join({ node: 7, address: "127.0.0.1:1", ...settings })],
        ["RemoveMember", () => admin.removeMember({ node: 3 })],
        ["EraseReplica", () => admin.eraseReplica({ partition: 0 })],
        ["TransferLeader", () => admin.transferLeader({ partition: 0, to: other })],
        [
          "SetFaults",
          () => admin.setFaults({ rules: [{ peer: 0, direction: FaultDirection.BOTH, drop: true }] }),
        ],
        ["ClearFaults", () => admin.clearFaults({})],
      ];
      for (const [method, call] of calls) {
        const error = await refusal(call());
        expect(error.code, method).toBe(Code.Unauthenticated);
        expect(error.rawMessage, method).toBe(
          `node ${other} refuses Admin.${method} ${token === undefined ? "without" : "with a wrong"} cluster token: ` +
            "send the cluster's token in the tinyo-cluster-token header (the CLI reads it from cluster.json; " +
            "a node uses its --token)",
        );
      }
      // The read-only methods stay open.
      expect((await admin.routes({})).nodes).toHaveLength(3);
    }
    const after = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
    for (const [i, status] of after.entries()) {
      const was = before[i];
      expect(status.members.map((m) => m.node)).toEqual([1, 2, 3]);
      expect(status.faults).toEqual([]);
      expect(status.groups.map((g) => g.partition)).toEqual(was?.groups.map((g) => g.partition));
    }
  }, 60_000);

  it("a node started with another --token is refused at its join and exits 1 saying so", async () => {
    const result = await joinThroughNode1("wrong-token", PARTITIONS, "not-the-cluster-token");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `${cluster.node(1).address} refused the join: this node's --token (or TINYO_TOKEN) is not the cluster's`,
    );
    expect((await cluster.status(1)).members.map((m) => m.node)).toEqual([1, 2, 3]);
  }, 30_000);
});

describe("membership", () => {
  it("refuses a removal below the replication factor and a join with bad input", async () => {
    const below = await refusal(cluster.admin(2).removeMember({ node: 1 }, { timeoutMs: 10_000 }));
    expect(below.code).toBe(Code.FailedPrecondition);
    expect(below.rawMessage).toBe(
      "removing node 1 would leave 2 nodes, fewer than the replication factor 3: add a node first",
    );
    const unknown = await refusal(cluster.admin(1).removeMember({ node: 9 }, { timeoutMs: 10_000 }));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/^node 9 is not a member \(the members are 1, 2, 3\)/);
    const settings = { partitions: PARTITIONS, replication: 3, vnodes: 64 };
    const badId = await refusal(cluster.admin(3).join({ node: 0, address: "127.0.0.1:1", ...settings }));
    expect(badId.code).toBe(Code.InvalidArgument);
    const taken = await refusal(
      cluster.admin(3).join({ node: 2, address: "127.0.0.1:1", ...settings }, { timeoutMs: 10_000 }),
    );
    expect(taken.code).toBe(Code.FailedPrecondition);
    expect(taken.rawMessage).toMatch(/^node 2 is already a member, at 127\.0\.0\.1:\d+/);
  }, 60_000);

  it("a joining node with another partition count exits 1 naming the cluster's", async () => {
    const result = await joinThroughNode1("wrong", 9, cluster.options.token);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `the cluster runs with --partitions ${PARTITIONS}, node 4 was started with 9: start it with --partitions ${PARTITIONS}`,
    );
    // Refused before anything changed: node 4 is not a member.
    const status = await cluster.status(1);
    expect(status.members.map((m) => m.node)).toEqual([1, 2, 3]);
  }, 30_000);

  it("a node joins with --join, takes its replicas and serves them, and leaves again", async () => {
    const client = new TinyoClient({ endpoints: cluster.endpoints, partitions: PARTITIONS });
    const keys = Array.from({ length: 40 }, (_, i) => `join:${i}`);
    for (const key of keys) await client.put(key, `v-${key}`);

    const [port] = (await freePorts(1)) as [number];
    const address = `127.0.0.1:${port}`;
    const joiner = runCli(
      [
        "node",
        "--id",
        "4",
        "--listen",
        address,
        "--join",
        `${cluster.node(2).address},${cluster.node(1).address}`,
        "--data",
        join(root, "4"),
        "--partitions",
        String(PARTITIONS),
        "--tick-ms",
        "20",
        "--token",
        cluster.options.token,
      ],
      120_000,
    );
    const placement = buildPlacement({
      members: [1, 2, 3, 4].map(nodeId),
      partitions: PARTITIONS,
      vnodes: 64,
      replication: 3,
    });
    const four = createAdmin(address);
    try {
      await waitFor(
        "node 4 to hold its replicas, none of them a learner",
        async () => {
          const { status } = await four.admin(address).status({}, { timeoutMs: 1000 });
          const held = status?.groups.filter((g) => !g.learners.includes(4)).map((g) => g.partition);
          return held?.sort((a, b) => a - b).join() === placement.partitionsOf(nodeId(4)).join() || undefined;
        },
        60_000,
        200,
      );
      const reader = new TinyoClient({ endpoints: [address], partitions: PARTITIONS });
      for (const key of keys) expect(Buffer.from((await reader.get(key)) ?? []).toString()).toBe(`v-${key}`);
      reader.close();

      await cluster.admin(1).removeMember({ node: 4 }, { timeoutMs: 10_000 });
      await waitFor(
        "node 4's replicas to move back",
        async () => {
          const { status } = await four.admin(address).status({}, { timeoutMs: 1000 });
          return status?.groups.length === 0 || undefined;
        },
        60_000,
        200,
      );
      for (const id of [1, 2, 3]) {
        const status = await cluster.status(id);
        for (const g of status.groups) {
          if (g.role === Role.LEADER) expect(g.replicas, `partition ${g.partition}`).not.toContain(4);
        }
      }
      for (const key of keys) expect(Buffer.from((await client.get(key)) ?? []).toString()).toBe(`v-${key}`);
    } finally {
      four.close();
      client.close();
      await four.stopNode(address);
      await joiner;
    }
  }, 150_000);
});

/** An admin client for the joining node, and a way to stop it (SIGTERM through its pid). */
function createAdmin(address: string) {
  const client = new TinyoClient({ endpoints: [address] });
  return {
    admin: (a: string) => client.admin(a),
    close: () => client.close(),
    async stopNode(a: string) {
      const probe = new TinyoClient({ endpoints: [a] });
      try {
        const { status } = await probe.admin(a).status({}, { timeoutMs: 2000 });
        if (status?.pid) process.kill(status.pid, "SIGTERM");
      } catch {
        // already gone
      } finally {
        probe.close();
      }
    },
  };
}
