import { describe, expect, it } from "vitest";
import { type NodeId, nodeId } from "../../src/node/ids.js";
import { balancedLeaders } from "../../src/node/ring/leader-balance.js";
import { buildPlacement } from "../../src/node/ring/placement.js";

const members = (count: number, first = 1): NodeId[] =>
  Array.from({ length: count }, (_, i) => nodeId(first + i));

describe("balancedLeaders", () => {
  const cases = [8, 16, 32, 64, 256].flatMap((partitions) =>
    [3, 4, 5, 6, 7, 8, 9].map((nodes) => ({ partitions, nodes })),
  );

  it.each(cases)(
    "Q=$partitions, N=$nodes: each member leads floor or ceil of Q/N, one of its replicas",
    ({ partitions, nodes }) => {
      const placement = buildPlacement({ members: members(nodes), partitions, vnodes: 64, replication: 3 });
      const leaders = balancedLeaders(placement);
      expect(leaders).toHaveLength(partitions);
      const counts = new Map<NodeId, number>();
      leaders.forEach((leader, p) => {
        expect(placement.preferenceList(p as never)).toContain(leader);
        counts.set(leader, (counts.get(leader) ?? 0) + 1);
      });
      const fair = partitions / nodes;
      for (const member of placement.members) {
        const led = counts.get(member) ?? 0;
        expect(led, `node ${member}`).toBeGreaterThanOrEqual(Math.floor(fair));
        expect(led, `node ${member}`).toBeLessThanOrEqual(Math.ceil(fair));
      }
    },
  );

  it("is a pure function of the placement: the same table whatever the member order", () => {
    const a = buildPlacement({ members: members(5), partitions: 32, vnodes: 64, replication: 3 });
    const b = buildPlacement({ members: members(5).reverse(), partitions: 32, vnodes: 64, replication: 3 });
    expect(balancedLeaders(b)).toEqual(balancedLeaders(a));
  });

  it("keeps the ring's preferred leader where that is already even", () => {
    // With 3 members and RF=3 every member replicates every partition: a single move evens it.
    const placement = buildPlacement({ members: members(3), partitions: 32, vnodes: 64, replication: 3 });
    const leaders = balancedLeaders(placement);
    const kept = leaders.filter((leader, p) => leader === placement.preferenceList(p as never)[0]).length;
    const preferred = [...placement.preferredLeaderCounts().values()];
    const excess = preferred.reduce((sum, c) => sum + Math.max(0, c - Math.ceil(32 / 3)), 0);
    expect(kept).toBe(32 - excess);
  });
});
