/**
 * Placement: which nodes replicate each partition. It is a pure function of (members, partitions,
 * vnodes, replication), so every node computes the same table from the membership it agreed on.
 *
 * Each member puts `vnodes` tokens on the 64-bit ring at ringPosition("node:<id>:<v>"). Partition
 * p starts at ringPosition("partition:<p>"); its preference list is the first `replication`
 * DISTINCT members met walking clockwise from there (a token at exactly that position counts),
 * and its first element is the preferred leader. Adding a member only inserts tokens, so a
 * partition's list can only gain the new member (dropping its old last replica); removing a
 * member only deletes tokens, so a list only loses that member (and the next distinct member
 * clockwise takes its place). That is what keeps a membership change down to about 1/N of the
 * replicas moving.
 */
import type { NodeId, PartitionId } from "../ids.js";
import { ringPositionWords } from "./hash.js";

/** The command-line defaults (`--partitions`, `--vnodes`, and the replication factor). */
export const PLACEMENT_DEFAULTS = { partitions: 32, vnodes: 64, replication: 3 } as const;

export interface PlacementConfig {
  /** Node ids in any order; the placement does not depend on it. */
  readonly members: readonly NodeId[];
  /** Q, the number of partitions; fixed for the life of a cluster, since keys map to partitions by hash mod Q. */
  readonly partitions: number;
  /** V, tokens per member. More tokens spread replicas more evenly and cost build time. */
  readonly vnodes: number;
  /** RF, replicas per partition; at most the number of members. */
  readonly replication: number;
}

/** One replica of one partition. */
export interface Replica {
  readonly partition: PartitionId;
  readonly node: NodeId;
}

/** What moves between two placements, each list ordered by partition then node. */
export interface PlacementDiff {
  /** Replicas in the later placement but not in the earlier: a node that must start hosting. */
  readonly added: readonly Replica[];
  /** Replicas in the earlier placement but not in the later: a node that must stop hosting. */
  readonly removed: readonly Replica[];
}

export interface Placement {
  /** Members in ascending id order. */
  readonly members: readonly NodeId[];
  readonly partitions: number;
  readonly vnodes: number;
  readonly replication: number;
  /** The replicas of `partition`, preferred leader first. */
  preferenceList(partition: PartitionId): readonly NodeId[];
  /** The partitions `node` replicates, ascending; empty for a node that is not a member. */
  partitionsOf(node: NodeId): readonly PartitionId[];
  /** Replicas held by each member (every member is present, possibly with 0). */
  replicaCounts(): ReadonlyMap<NodeId, number>;
  /** Partitions each member is the preferred leader of (every member is present, possibly with 0). */
  preferredLeaderCounts(): ReadonlyMap<NodeId, number>;
  /**
   * The replicas to add and remove to go from this placement to `next`. Both must have the same
   * number of partitions: with another Q the same partition id holds other keys.
   */
  diff(next: Placement): PlacementDiff;
}

/**
 * Builds the placement of `config`. Throws a RangeError for a configuration no placement exists
 * for: no members, a duplicate or invalid member id, counts that are not positive integers, or
 * a replication factor above the number of members.
 */
export function buildPlacement(config: PlacementConfig): Placement {
  const { partitions, vnodes, replication } = config;
  // partitionOf reduces a 32-bit hash, so more than 2^32 partitions could never all hold keys.
  requireCount("partitions", partitions, 0x1_0000_0000);
  requireCount("vnodes", vnodes);
  requireCount("replication", replication);
  const members = sortedMembers(config.members);
  if (replication > members.length) {
    throw new RangeError(
      `replication ${replication} needs at least ${replication} members, but there are ${members.length}: ` +
        "a partition's replicas must be distinct nodes, so replication can be at most the member count",
    );
  }
  const ring = buildRing(members, vnodes);
  const lists: (readonly NodeId[])[] = [];
  const start = new Uint32Array(2);
  // seenBy[m] === p marks member m as already in partition p's list; a Float64Array because
  // partition numbers can exceed the range of an Int32Array.
  const seenBy = new Float64Array(members.length).fill(-1);
  for (let p = 0; p < partitions; p++) {
    ringPositionWords(ascii(`partition:${p}`), start, 0);
    const list: NodeId[] = [];
    const tokens = ring.owner.length;
    // Terminates within one turn of the ring: every member has a token, and replication <= members.
    for (let t = ring.firstAtOrAfter(start[0], start[1]); list.length < replication; t = (t + 1) % tokens) {
      const owner = ring.owner[t];
      if (seenBy[owner] === p) continue;
      seenBy[owner] = p;
      list.push(members[owner]);
    }
    lists.push(Object.freeze(list));
  }
  return new RingPlacement(members, partitions, vnodes, replication, lists);
}

function requireCount(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    const limit = max === Number.MAX_SAFE_INTEGER ? "" : ` no larger than ${max}`;
    throw new RangeError(`${name} must be a positive integer${limit}, got ${value}`);
  }
}

function sortedMembers(members: readonly NodeId[]): readonly NodeId[] {
  if (members.length === 0) throw new RangeError("a placement needs at least one member");
  const sorted = [...members].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i];
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new RangeError(`member ids must be non-negative integers, got ${id}`);
    }
    if (i > 0 && sorted[i - 1] === id) throw new RangeError(`member ${id} is listed more than once`);
  }
  return Object.freeze(sorted);
}

const encoder = new TextEncoder();

/** Token and partition names are ASCII; UTF-8 keeps them byte-identical to any other implementation. */
function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The tokens of all members sorted clockwise, as parallel arrays. */
interface Ring {
  /** Index into the sorted members of each token's owner. */
  readonly owner: Uint32Array;
  /** Index of the first token at or after the position (hi, lo), wrapping to 0 past the last. */
  firstAtOrAfter(hi: number, lo: number): number;
}

function buildRing(members: readonly NodeId[], vnodes: number): Ring {
  const count = members.length * vnodes;
  // Token t belongs to member floor(t / vnodes), so the token index alone identifies the owner.
  const words = new Uint32Array(2 * count);
  // "node:<id>:<v>" is assembled from pre-encoded halves: encoding 65,536 whole names with
  // TextEncoder took most of the build time.
  const suffixes = Array.from({ length: vnodes }, (_, v) => ascii(String(v)));
  const name = new Uint8Array(64);
  for (let m = 0; m < members.length; m++) {
    const prefix = ascii(`node:${members[m]}:`);
    name.set(prefix, 0);
    for (let v = 0; v < vnodes; v++) {
      const suffix = suffixes[v];
      name.set(suffix, prefix.length);
      ringPositionWords(name.subarray(0, prefix.length + suffix.length), words, 2 * (m * vnodes + v));
    }
  }
  // Sort once. Two tokens at the same 64-bit position (a hash collision) are ordered by token
  // index, that is by member id then vnode, so the order never depends on the input order.
  const order = new Uint32Array(count);
  for (let t = 0; t < count; t++) order[t] = t;
  order.sort((a, b) => words[2 * a] - words[2 * b] || words[2 * a + 1] - words[2 * b + 1] || a - b);
  const hi = new Uint32Array(count);
  const lo = new Uint32Array(count);
  const owner = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const t = order[i];
    hi[i] = words[2 * t];
    lo[i] = words[2 * t + 1];
    owner[i] = Math.floor(t / vnodes);
  }
  return {
    owner,
    firstAtOrAfter(h: number, l: number): number {
      let low = 0;
      let high = count;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (hi[mid] < h || (hi[mid] === h && lo[mid] < l)) low = mid + 1;
        else high = mid;
      }
      return low === count ? 0 : low;
    },
  };
}

class RingPlacement implements Placement {
  readonly #lists: readonly (readonly NodeId[])[];
  readonly #partitionsOf: ReadonlyMap<NodeId, readonly PartitionId[]>;
  readonly #replicaCounts: ReadonlyMap<NodeId, number>;
  readonly #leaderCounts: ReadonlyMap<NodeId, number>;

  constructor(
    readonly members: readonly NodeId[],
    readonly partitions: number,
    readonly vnodes: number,
    readonly replication: number,
    lists: readonly (readonly NodeId[])[],
  ) {
    this.#lists = Object.freeze(lists);
    const partitionsOf = new Map<NodeId, PartitionId[]>();
    const leaderCounts = new Map<NodeId, number>();
    for (const member of members) {
      partitionsOf.set(member, []);
      leaderCounts.set(member, 0);
    }
    for (let p = 0; p < lists.length; p++) {
      const list = lists[p];
      for (const node of list) partitionsOf.get(node)?.push(p as PartitionId);
      leaderCounts.set(list[0], (leaderCounts.get(list[0]) ?? 0) + 1);
    }
    this.#partitionsOf = new Map([...partitionsOf].map(([node, ps]) => [node, Object.freeze(ps)]));
    this.#replicaCounts = new Map([...partitionsOf].map(([node, ps]) => [node, ps.length]));
    this.#leaderCounts = leaderCounts;
    Object.freeze(this);
  }

  preferenceList(partition: PartitionId): readonly NodeId[] {
    const list = this.#lists[partition];
    if (list === undefined) {
      throw new RangeError(
        `partition ${partition} does not exist: partitions are 0 to ${this.partitions - 1}`,
      );
    }
    return list;
  }

  partitionsOf(node: NodeId): readonly PartitionId[] {
    return this.#partitionsOf.get(node) ?? [];
  }

  replicaCounts(): ReadonlyMap<NodeId, number> {
    return new Map(this.#replicaCounts);
  }

  preferredLeaderCounts(): ReadonlyMap<NodeId, number> {
    return new Map(this.#leaderCounts);
  }

  diff(next: Placement): PlacementDiff {
    if (next.partitions !== this.partitions) {
      throw new RangeError(
        `cannot diff placements of ${this.partitions} and ${next.partitions} partitions: ` +
          "the partition count is fixed for the life of a cluster",
      );
    }
    const added: Replica[] = [];
    const removed: Replica[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const partition = p as PartitionId;
      const before = this.preferenceList(partition);
      const after = next.preferenceList(partition);
      for (const node of [...after].sort((a, b) => a - b)) {
        if (!before.includes(node)) added.push(Object.freeze({ partition, node }));
      }
      for (const node of [...before].sort((a, b) => a - b)) {
        if (!after.includes(node)) removed.push(Object.freeze({ partition, node }));
      }
    }
    return Object.freeze({ added: Object.freeze(added), removed: Object.freeze(removed) });
  }
}
