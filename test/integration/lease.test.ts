/**
 * Leader leases with real processes: a leader stopped with SIGSTOP (as `tinyo pause` does)
 * while the others elect a new leader that takes a write must not, once resumed, answer a
 * LEASE read with the old value: its clock tells it the lease ran out while it was stopped
 * (src/node/store/tick-clock.ts), so it refuses or goes through a ReadIndex round.
 *
 * Just before the pause the old leader stops hearing its peers (a fault rule drops their Raft
 * messages to it), so that after the pause nothing but its clock can tell it that it was
 * deposed: otherwise the new leader's heartbeats, queued while it was stopped, might tell it
 * first and the test would pass without the lease being checked at all. Ticked by a timer alone
 * (one late tick after the pause) it would still hold its lease and answer "old".
 */

import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import { Consistency } from "../../src/gen/tinyo/v1/kv_pb.js";
import { partitionOf } from "../../src/node/ring/index.js";
import { TestCluster, waitFor } from "./harness.js";

const PARTITIONS = 4;
const bytes = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("leader lease across a pause", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 20 });
    cluster.startAll();
    await cluster.waitForBalancedLeaders();
  }, 60_000);

  afterAll(async () => {
    for (const node of cluster?.nodes ?? []) if (node.process?.pid) node.process.kill("SIGCONT");
    await cluster?.killAll();
    cluster?.removeData();
  });

  it("a leader resumed after a pause never serves the value from before it", async () => {
    const key = bytes("lease-key");
    const partition = partitionOf(key, PARTITIONS);
    const oldLeader = (await cluster.waitForLeaders()).get(partition) as number;
    await cluster.kv(oldLeader).put({ key, value: bytes("old") }, { timeoutMs: 5000 });
    const before = await cluster
      .kv(oldLeader)
      .get({ key, consistency: Consistency.LEASE }, { timeoutMs: 5000 });
    expect(str(before.value)).toBe("old");
    expect(before.header?.leader).toBe(oldLeader);

    const pid = cluster.node(oldLeader).process?.pid as number;
    await cluster
      .admin(oldLeader)
      .setFaults({ rules: [{ peer: 0, direction: FaultDirection.IN, drop: true }] }, { timeoutMs: 5000 });
    process.kill(pid, "SIGSTOP");
    let resumed = false;
    try {
      const others = cluster.nodes.map((n) => n.id).filter((id) => id !== oldLeader);
      const newLeader = await waitFor("another node to lead the partition", async () => {
        const status = await cluster.status(others[0] as number);
        const leader = status.groups.find((g) => g.partition === partition)?.leader;
        return leader !== undefined && leader !== oldLeader && leader !== 0 ? leader : undefined;
      });
      await cluster.kv(newLeader).put({ key, value: bytes("new") }, { timeoutMs: 5000 });

      process.kill(pid, "SIGCONT");
      resumed = true;
      // At once, several of them: whatever the old leader handles first after the pause.
      const answers = await Promise.all(
        Array.from({ length: 5 }, () =>
          cluster
            .kv(oldLeader)
            .get({ key, consistency: Consistency.LEASE }, { timeoutMs: 3000 })
            .then(
              (response) => (response.found ? str(response.value) : "absent"),
              (error: unknown) => `refused: ${ConnectError.from(error).code}`,
            ),
        ),
      );
      for (const answer of answers) expect(answer).not.toBe("old");
      expect(answers.filter((a) => a === "new" || a.startsWith("refused")).length).toBe(answers.length);
      await cluster.admin(oldLeader).clearFaults({}, { timeoutMs: 5000 });
      await waitFor("the old leader to serve the new value", async () => {
        const response = await cluster
          .kv(oldLeader)
          .get({ key, consistency: Consistency.LEASE }, { timeoutMs: 2000 });
        return str(response.value) === "new";
      });
    } finally {
      if (!resumed) process.kill(pid, "SIGCONT");
    }
  }, 60_000);
});
