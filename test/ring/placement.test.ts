import { describe, expect, it } from "vitest";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import { buildPlacement, PLACEMENT_DEFAULTS, type Placement } from "../../src/node/ring/placement.js";

const ids = (...numbers: number[]): NodeId[] => numbers.map(nodeId);
const range = (count: number): PartitionId[] => Array.from({ length: count }, (_, p) => partitionId(p));
const table = (placement: Placement): (readonly NodeId[])[] =>
  range(placement.partitions).map((p) => placement.preferenceList(p));

describe("buildPlacement", () => {
  // Expected tables from an independent implementation: a Python script that sorts the tokens
  // ("node:<id>:<v>" hashed by the canonical MurmurHash3.cpp, g++, through ctypes) and walks the
  // ring from "partition:<p>" as the architecture describes. They pin the placement format:
  // nodes of different versions must compute the same table.
  it("matches an independent reference implementation (members 1..5, Q=32, V=64, RF=3)", () => {
    const placement = buildPlacement({
      members: ids(1, 2, 3, 4, 5),
      partitions: 32,
      vnodes: 64,
      replication: 3,
    });
    expect(table(placement)).toEqual(
      [
        [2, 5, 4],
        [1, 4, 5],
        [3, 1, 5],
        [5, 1, 4],
        [1, 3, 2],
        [3, 4, 1],
        [1, 5, 4],
        [1, 3, 2],
        [4, 2, 5],
        [2, 5, 4],
        [3, 4, 5],
        [2, 3, 4],
        [4, 2, 1],
        [4, 2, 5],
        [4, 5, 3],
        [3, 2, 4],
        [4, 3, 2],
        [2, 1, 4],
        [3, 1, 4],
        [5, 1, 3],
        [5, 3, 4],
        [1, 2, 3],
        [5, 4, 1],
        [4, 2, 5],
        [3, 2, 5],
        [4, 3, 2],
        [2, 5, 4],
        [3, 2, 4],
        [2, 5, 1],
        [3, 5, 2],
        [5, 4, 2],
        [1, 5, 3],
      ].map((list) => ids(...list)),
    );
  });

  it("matches an independent reference implementation (sparse ids, Q=16, V=8, RF=4)", () => {
    const members = ids(3, 17, 42, 1000, 7, 8, 9);
    const placement = buildPlacement({ members, partitions: 16, vnodes: 8, replication: 4 });
    expect(table(placement)).toEqual(
      [
        [17, 8, 3, 9],
        [1000, 9, 17, 42],
        [3, 8, 17, 9],
        [7, 42, 3, 1000],
        [1000, 8, 7, 3],
        [8, 17, 9, 42],
        [8, 1000, 42, 17],
        [1000, 8, 7, 3],
        [9, 3, 1000, 7],
        [3, 1000, 7, 42],
        [3, 7, 8, 17],
        [17, 7, 1000, 8],
        [3, 1000, 7, 42],
        [42, 9, 8, 3],
        [3, 9, 1000, 7],
        [3, 8, 17, 9],
      ].map((list) => ids(...list)),
    );
  });

  it("does not depend on the order members are given in", () => {
    const config = { partitions: 64, vnodes: 32, replication: 3 };
    const sorted = buildPlacement({ ...config, members: ids(1, 2, 3, 4, 5, 6, 7) });
    for (const members of [ids(7, 6, 5, 4, 3, 2, 1), ids(4, 1, 7, 2, 6, 3, 5), ids(2, 7, 1, 5, 3, 6, 4)]) {
      const shuffled = buildPlacement({ ...config, members });
      expect(table(shuffled)).toEqual(table(sorted));
      expect(shuffled.members).toEqual(ids(1, 2, 3, 4, 5, 6, 7));
      expect(sorted.diff(shuffled)).toEqual({ added: [], removed: [] });
    }
  });

  it("gives every partition RF distinct members, for every RF up to N", () => {
    const members = ids(10, 20, 30, 40, 50, 60);
    for (let replication = 1; replication <= members.length; replication++) {
      const placement = buildPlacement({ members, partitions: 32, vnodes: 16, replication });
      for (const list of table(placement)) {
        expect(list).toHaveLength(replication);
        expect(new Set(list).size).toBe(replication);
        for (const node of list) expect(members).toContain(node);
      }
    }
  });

  it("keeps each list's order when RF grows: a longer list extends a shorter one", () => {
    const members = ids(1, 2, 3, 4, 5);
    const lists = [1, 2, 3, 4, 5].map((replication) =>
      table(buildPlacement({ members, partitions: 32, vnodes: 64, replication })),
    );
    for (let rf = 1; rf < lists.length; rf++) {
      expect(lists[rf].map((list) => list.slice(0, rf))).toEqual(lists[rf - 1]);
    }
  });

  it("works with one member and one vnode", () => {
    const placement = buildPlacement({ members: ids(9), partitions: 4, vnodes: 1, replication: 1 });
    expect(table(placement)).toEqual([ids(9), ids(9), ids(9), ids(9)]);
  });

  it("rejects RF above the member count with a RangeError that says the limit", () => {
    const build = () => buildPlacement({ members: ids(1, 2), partitions: 32, vnodes: 64, replication: 3 });
    expect(build).toThrow(RangeError);
    expect(build).toThrow(/replication 3 needs at least 3 members, but there are 2/);
    expect(build).toThrow(/at most the member count/);
  });

  it("rejects duplicate members, bad ids and bad counts with RangeErrors", () => {
    const valid = { members: ids(1, 2, 3), partitions: 32, vnodes: 64, replication: 3 };
    expect(() => buildPlacement({ ...valid, members: ids(1, 2, 3, 2) })).toThrow(
      /member 2 is listed more than once/,
    );
    expect(() => buildPlacement({ ...valid, members: [] })).toThrow(/at least one member/);
    expect(() => buildPlacement({ ...valid, members: ids(1, -2, 3) })).toThrow(/non-negative integers/);
    expect(() => buildPlacement({ ...valid, members: ids(1, 2.5, 3) })).toThrow(/non-negative integers/);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => buildPlacement({ ...valid, partitions: bad })).toThrow(
        /partitions must be a positive integer/,
      );
      expect(() => buildPlacement({ ...valid, vnodes: bad })).toThrow(/vnodes must be a positive integer/);
      expect(() => buildPlacement({ ...valid, replication: bad })).toThrow(
        /replication must be a positive integer/,
      );
    }
    expect(() => buildPlacement({ ...valid, partitions: 2 ** 32 + 1 })).toThrow(RangeError);
  });

  it("builds the largest supported configuration (N=64, V=1024, Q=4096) in well under a second", () => {
    const members = Array.from({ length: 64 }, (_, i) => nodeId(i + 1));
    const started = performance.now();
    const placement = buildPlacement({ members, partitions: 4096, vnodes: 1024, replication: 3 });
    const elapsed = performance.now() - started;
    // Measured 55-75 ms warm and 110-160 ms cold on a 2-core VM (65,536 tokens hashed and sorted
    // once); the defaults (5 x 64 tokens, Q=32) take about 1 ms. The bound only catches a
    // quadratic regression, not noise from a busy machine.
    expect(elapsed).toBeLessThan(1500);
    expect([...placement.replicaCounts().values()].reduce((a, b) => a + b)).toBe(4096 * 3);
  });

  it("exports the architecture's defaults", () => {
    expect(PLACEMENT_DEFAULTS).toEqual({ partitions: 32, vnodes: 64, replication: 3 });
  });
});

describe("Placement", () => {
  const placement = buildPlacement({
    members: ids(1, 2, 3, 4, 5),
    partitions: 32,
    vnodes: 64,
    replication: 3,
  });

  it("lists each node's partitions consistently with the preference lists", () => {
    for (const node of placement.members) {
      const expected = range(32).filter((p) => placement.preferenceList(p).includes(node));
      expect(placement.partitionsOf(node)).toEqual(expected);
      expect(placement.replicaCounts().get(node)).toBe(expected.length);
    }
    expect(placement.partitionsOf(nodeId(6))).toEqual([]);
  });

  it("counts preferred leaders as the first of each list", () => {
    const counts = placement.preferredLeaderCounts();
    expect([...counts.keys()]).toEqual(ids(1, 2, 3, 4, 5));
    for (const node of placement.members) {
      expect(counts.get(node)).toBe(range(32).filter((p) => placement.preferenceList(p)[0] === node).length);
    }
  });

  it("rejects partitions outside [0, Q)", () => {
    for (const p of [-1, 32, 1.5]) {
      expect(() => placement.preferenceList(partitionId(p))).toThrow(/partitions are 0 to 31/);
    }
  });

  it("is immutable", () => {
    const list = placement.preferenceList(partitionId(0)) as NodeId[];
    expect(() => list.push(nodeId(9))).toThrow(TypeError);
    expect(() => (placement.members as NodeId[]).pop()).toThrow(TypeError);
    expect(() => (placement.partitionsOf(nodeId(1)) as PartitionId[]).pop()).toThrow(TypeError);
    // The count maps are copies: changing one changes no later answer.
    (placement.replicaCounts() as Map<NodeId, number>).set(nodeId(1), 0);
    expect(placement.replicaCounts().get(nodeId(1))).toBeGreaterThan(0);
    expect(Object.isFrozen(placement)).toBe(true);
  });

  it("diffs to nothing against itself and refuses a different partition count", () => {
    expect(placement.diff(placement)).toEqual({ added: [], removed: [] });
    const other = buildPlacement({ members: ids(1, 2, 3, 4, 5), partitions: 64, vnodes: 64, replication: 3 });
    expect(() => placement.diff(other)).toThrow(/cannot diff placements of 32 and 64 partitions/);
  });

  it("diffs a replication change as the added tail of each list, ordered by partition", () => {
    const wider = buildPlacement({ members: ids(1, 2, 3, 4, 5), partitions: 32, vnodes: 64, replication: 4 });
    const grow = placement.diff(wider);
    expect(grow.removed).toEqual([]);
    expect(grow.added).toEqual(range(32).map((p) => ({ partition: p, node: wider.preferenceList(p)[3] })));
    const shrink = wider.diff(placement);
    expect(shrink.added).toEqual([]);
    expect(shrink.removed).toEqual(grow.added);
  });
});
