import { describe, expect, it } from "vitest";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import {
  buildPlacement,
  type Placement,
  type PlacementConfig,
  type Replica,
} from "../../src/node/ring/placement.js";

/** mulberry32: a small seeded generator, so that a failing case reproduces from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  readonly seed: number;
  readonly config: PlacementConfig;
  /** An id that is not a member, to add. */
  readonly outsider: NodeId;
}

function randomCase(seed: number): Case {
  const next = random(seed);
  const between = (low: number, high: number): number => low + Math.floor(next() * (high - low + 1));
  const count = between(1, 24);
  const ids = new Set<number>();
  while (ids.size < count + 1) ids.add(between(0, 5000));
  const [outsider, ...members] = [...ids];
  return {
    seed,
    outsider: nodeId(outsider),
    config: {
      members: members.map(nodeId),
      partitions: between(1, 200),
      vnodes: between(1, 80),
      replication: between(1, Math.min(count, 5)),
    },
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const partitionsOf = (placement: Placement): PartitionId[] =>
  Array.from({ length: placement.partitions }, (_, p) => partitionId(p));

/** Applies `diff` to `from`'s replica sets, to compare with `to`'s. */
function replicaSetsAfter(from: Placement, to: Placement): Set<NodeId>[] {
  const sets = partitionsOf(from).map((p) => new Set(from.preferenceList(p)));
  const { added, removed } = from.diff(to);
  const faults: Replica[] = [];
  for (const replica of removed) if (!sets[replica.partition].delete(replica.node)) faults.push(replica);
  for (const replica of added) {
    if (sets[replica.partition].has(replica.node)) faults.push(replica);
    sets[replica.partition].add(replica.node);
  }
  expect(faults).toEqual([]);
  return sets;
}

const SEEDS = Array.from({ length: 300 }, (_, i) => 1000 + i);

describe("placement properties over random member sets", () => {
  it.each(SEEDS)("seed %i", (seed) => {
    const { config, outsider } = randomCase(seed);
    const { members, replication } = config;
    const placement = buildPlacement(config);

    // Preference lists: RF distinct members each; counts and partitionsOf agree with them.
    // (Checked into one array of faults, since hundreds of expect calls per case are slow.)
    const memberSet = new Set(members);
    const faults = partitionsOf(placement).filter((p) => {
      const list = placement.preferenceList(p);
      return (
        list.length !== replication ||
        new Set(list).size !== replication ||
        !list.every((n) => memberSet.has(n))
      );
    });
    expect(faults).toEqual([]);
    const counts = placement.replicaCounts();
    expect([...counts.values()].reduce((a, b) => a + b)).toBe(config.partitions * replication);
    expect(members.map((node) => placement.partitionsOf(node).length)).toEqual(
      members.map((node) => counts.get(node)),
    );
    expect([...placement.preferredLeaderCounts().values()].reduce((a, b) => a + b)).toBe(config.partitions);

    // Determinism: the same members in another order give the same placement.
    const again = buildPlacement({ ...config, members: shuffled(members, seed) });
    expect(partitionsOf(again).map((p) => again.preferenceList(p))).toEqual(
      partitionsOf(placement).map((p) => placement.preferenceList(p)),
    );

    // Adding a member: replicas only move to it, at most one per partition.
    const grown = buildPlacement({ ...config, members: [...members, outsider] });
    const growth = placement.diff(grown);
    expect(growth.added.every((r) => r.node === outsider)).toBe(true);
    expect(growth.removed.every((r) => r.node !== outsider)).toBe(true);
    expect(growth.added.length).toBe(growth.removed.length);
    expect(new Set(growth.added.map((r) => r.partition)).size).toBe(growth.added.length);
    expect(replicaSetsAfter(placement, grown)).toEqual(
      partitionsOf(grown).map((p) => new Set(grown.preferenceList(p))),
    );

    // Removing a member (when enough remain): only its replicas move, each to another member.
    if (members.length > replication) {
      const leaving = members[seed % members.length];
      const shrunk = buildPlacement({ ...config, members: members.filter((node) => node !== leaving) });
      const shrink = placement.diff(shrunk);
      expect(shrink.removed).toEqual(
        placement.partitionsOf(leaving).map((p) => ({ partition: p, node: leaving })),
      );
      expect(shrink.added.map((r) => r.partition)).toEqual(placement.partitionsOf(leaving));
      expect(replicaSetsAfter(placement, shrunk)).toEqual(
        partitionsOf(shrunk).map((p) => new Set(shrunk.preferenceList(p))),
      );
    } else {
      expect(() => buildPlacement({ ...config, members: members.slice(1) })).toThrow(RangeError);
    }
  });
});
