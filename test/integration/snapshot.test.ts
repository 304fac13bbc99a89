/**
 * Log compaction and snapshot catch-up with three real `tinyo node` processes and a small
 * compaction threshold: a SIGKILLed follower misses writes that the others compact away, and
 * comes back through Raft.SendSnapshot.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import type { NodeStatus } from "../../src/gen/tinyo/v1/admin_pb.js";
import { Consistency } from "../../src/gen/tinyo/v1/kv_pb.js";
import { TestCluster, waitFor } from "./harness.js";

const PARTITIONS = 4;
const text = new TextEncoder();
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe("log compaction and snapshot transfer between real nodes", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 20, compactEvery: 20 });
    cluster.startAll();
    await cluster.waitForLeaders(30_000);
  }, 40_000);

  afterAll(async () => {
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  });

  it("a follower SIGKILLed while the others compact catches up by snapshot after its restart", async () => {
    const client = new TinyoClient({
      endpoints: cluster.endpoints,
      partitions: PARTITIONS,
      deadlineMs: 8000,
    });
    try {
      for (let i = 0; i < 10; i++) await client.put(`early:${i}`, `e${i}`);
      const victim = 3;
      const lastBefore = new Map(
        (await cluster.status(victim)).groups.map((g) => [g.partition, g.lastIndex]),
      );
      expect(await cluster.stop(victim, "SIGKILL")).toBe(null);
      await cluster.waitForLeaders();

      // Enough writes for several compactions of every partition (every 20 entries).
      const keys = Array.from({ length: 400 }, (_, i) => `snap:${i}`);
      for (let i = 0; i < keys.length; i += 20) {
        await Promise.all(keys.slice(i, i + 20).map((key, j) => client.put(key, `value-${i + j}`)));
      }
      const live = [1, 2];
      await waitFor(
        "the live nodes to compact every partition past the victim's log",
        async () => {
          const statuses = await Promise.all(live.map((id) => cluster.status(id)));
          return statuses.every((s) =>
            s.groups.every((g) => g.firstIndex > (lastBefore.get(g.partition) ?? 0n) + 1n),
          );
        },
        15_000,
      );

      cluster.start(victim);
      await cluster.waitForLeaders();
      const caughtUp = (statuses: NodeStatus[]) => {
        const restarted = statuses.find((s) => s.node === victim);
        return (
          restarted !== undefined &&
          restarted.groups.length === PARTITIONS &&
          restarted.groups.every((g) =>
            statuses.every(
              (s) =>
                (s.groups.find((o) => o.partition === g.partition)?.appliedIndex ?? 0n) <= g.appliedIndex,
            ),
          )
        );
      };
      const statuses = await waitFor(
        `node ${victim} to catch up`,
        async () => {
          const all = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
          return caughtUp(all) ? all : undefined;
        },
        20_000,
      );
      // It came back by snapshot: every partition installed one, which the live nodes sent.
      const restarted = statuses.find((s) => s.node === victim) as NodeStatus;
      expect(restarted.groups.every((g) => g.snapshotsInstalled >= 1n)).toBe(true);
      const sent = statuses
        .filter((s) => s.node !== victim)
        .flatMap((s) => s.groups)
        .reduce((n, g) => n + g.snapshotsSent, 0n);
      expect(sent).toBeGreaterThanOrEqual(BigInt(PARTITIONS));
      expect(cluster.log(victim)).toContain('"event":"store.snapshot_installed"');

      // A stale read on the restarted node (no barrier, no forwarding) sees the new values.
      const direct = cluster.kv(victim);
      for (const i of [0, 1, 2, 3, 199, 398, 399]) {
        const got = await direct.get({ key: text.encode(`snap:${i}`), consistency: Consistency.STALE });
        expect(str(got.value), `snap:${i}`).toBe(`value-${i}`);
      }
      expect(
        str((await direct.get({ key: text.encode("early:9"), consistency: Consistency.STALE })).value),
      ).toBe("e9");
      // And it takes new writes from then on through its log.
      await client.put("snap:after", "restart");
      await waitFor("the restarted node to apply a new write", async () => {
        const got = await direct.get({ key: text.encode("snap:after"), consistency: Consistency.STALE });
        return str(got.value) === "restart";
      });
    } finally {
      client.close();
    }
  }, 90_000);
});
