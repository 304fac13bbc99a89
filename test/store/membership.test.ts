import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeId, nodeId, type PartitionId } from "../../src/node/ids.js";
import { buildPlacement } from "../../src/node/ring/placement.js";
import { metadataPartition, targetConfig } from "../../src/node/store/replica-targets.js";
import { type Cluster, PARTITIONS, put, range, startCluster, text, until } from "./harness.js";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

const placementOf = (members: number[]) =>
  buildPlacement({ members: members.map(nodeId), partitions: PARTITIONS, vnodes: 16, replication: 3 });

const sorted = (ids: readonly NodeId[]) => [...ids].sort((a, b) => a - b);

/** Every group (data partitions and the metadata group) led with exactly its target configuration. */
function settled(c: Cluster, members: number[]): boolean {
  const placement = placementOf(members);
  for (const p of [...range(), metadataPartition(PARTITIONS)]) {
    const leader = c.leaderOf(p);
    const target = targetConfig(placement, p);
    const status = leader?.store.groupStatus(p);
    if (!status || !target) return false;
    if (sorted(status.voters).join() !== sorted(target.voters).join()) return false;
    if (sorted(status.learners).join() !== sorted(target.learners).join()) return false;
  }
  return true;
}

async function addMember(c: Cluster, id: NodeId): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `tinyo-store-${id}-`));
  c.dirs.push(dir);
  c.placement = placementOf([...c.members.keys(), id]);
  await c.start(id, dir, { join: true });
  for (const m of c.members.values()) m.store.setPlacement(c.placement);
}

describe("replica moves", () => {
  it("a joining node's replicas are added as learners, filled, promoted, and the replaced ones erased", async () => {
    ({ cluster } = await startCluster());
    const c = cluster;
    c.compaction = { everyEntries: 1_000_000, checkMs: 1000 };
    for (const p of range()) for (let i = 0; i < 20; i++) await c.propose(p, put(`k${p}-${i}`, `v${i}`));
    await addMember(c, nodeId(4));
    await until(() => settled(c, [1, 2, 3, 4]), 20_000, "every group at its 4-member target");

    const target = placementOf([1, 2, 3, 4]);
    const four = c.members.get(nodeId(4));
    expect(four?.store.partitions().sort()).toEqual(
      [...target.partitionsOf(nodeId(4)), metadataPartition(PARTITIONS)].sort(),
    );
    // Every replica the placement dropped was erased: no node hosts a group it is not a target of.
    await until(
      () =>
        [...c.members].every(([id, m]) =>
          m.store
            .partitions()
            .every((p) => p === metadataPartition(PARTITIONS) || target.preferenceList(p).includes(id)),
        ),
      10_000,
      "replaced replicas erased",
    );
    // Node 4 holds every key of its partitions (read through its own replica after a barrier).
    for (const p of target.partitionsOf(nodeId(4))) {
      await until(() => (four?.store.groupStatus(p)?.appliedIndex ?? 0) > 0, 10_000, "node 4 applied");
      await c.readBarrier(p);
      await until(
        () =>
          (four?.store.groupStatus(p)?.appliedIndex ?? 0) >=
          (c.leaderOf(p)?.store.groupStatus(p)?.commitIndex ?? 1),
        10_000,
        "node 4 caught up",
      );
      expect(text(await four?.sm.get(p, new TextEncoder().encode(`k${p}-19`)))).toBe("v19");
    }
    // Writes keep working on every partition after the moves.
    for (const p of range()) await c.propose(p, put(`after${p}`, "x"));
  }, 60_000);

  it("removing a member moves its replicas to the others, its leaderships first", async () => {
    ({ cluster } = await startCluster());
    const c = cluster;
    await addMember(c, nodeId(4));
    await until(() => settled(c, [1, 2, 3, 4]), 20_000, "every group at its 4-member target");
    for (const p of range()) await c.propose(p, put(`k${p}`, "v"));

    const without1 = placementOf([2, 3, 4]);
    c.placement = without1;
    for (const m of c.members.values()) m.store.setPlacement(without1);
    await until(() => settled(c, [2, 3, 4]), 20_000, "every group at its target without node 1");
    const one = c.members.get(nodeId(1));
    await until(() => one?.store.partitions().length === 0, 10_000, "node 1 erased every replica");
    for (const p of range() as PartitionId[]) {
      const leader = c.store(p);
      expect(leader).not.toBe(one);
      expect(text(await leader.sm.get(p, new TextEncoder().encode(`k${p}`)))).toBe("v");
    }
  }, 60_000);
});
