/**
 * Which replica of each partition should lead it, so that every member leads about Q/N
 * partitions. The ring's preferred leader (the first of each preference list) is only as even as
 * the ring: at Q=32 a node of 5 can be preferred for 5 partitions or 8 (see test/ring/balance).
 * Leading costs a node far more than following (it proposes, answers reads, sends every
 * append), so leadership is balanced on its own, as TiKV's PD balance-leader scheduler and
 * CockroachDB's lease rebalancing do, but as a pure function of the placement: every node
 * computes the same table and no coordinator is needed.
 *
 * Start from the ring's preferred leaders. While some member leads at least two more than
 * another member it can reach, shift leadership along the shortest chain between them: a
 * partition that the first leads goes to one of its other replicas, which hands one of its own
 * on, and so on. Each shift lowers the sum of squared counts, so the loop ends; when it does, no
 * chain can even the counts further, which is the most even assignment the replica sets allow.
 */
import type { NodeId, PartitionId } from "../ids.js";
import type { Placement } from "./placement.js";

/** The leader each partition should have, indexed by partition. */
export function balancedLeaders(placement: Placement): readonly NodeId[] {
  const lists = Array.from({ length: placement.partitions }, (_, p) =>
    placement.preferenceList(p as PartitionId),
  );
  const leaders = lists.map((list) => list[0] as NodeId);
  const counts = new Map<NodeId, number>(placement.members.map((m) => [m, 0]));
  for (const leader of leaders) counts.set(leader, (counts.get(leader) ?? 0) + 1);
  const count = (node: NodeId) => counts.get(node) ?? 0;
  // Members from the most loaded down, ties by id: a deterministic order for every node.
  const byLoad = () => [...placement.members].sort((a, b) => count(b) - count(a) || a - b);

  for (;;) {
    const chain = byLoad()
      .map((source) => shortestChain(source, lists, leaders, (n) => count(n) <= count(source) - 2))
      .find((c) => c !== undefined);
    if (chain === undefined) return Object.freeze(leaders);
    // Members inside the chain give one and take one: only its two ends change count.
    for (const { partition, to } of chain) leaders[partition] = to;
    const { from } = chain[0] as Step;
    const { to } = chain[chain.length - 1] as Step;
    counts.set(from, count(from) - 1);
    counts.set(to, count(to) + 1);
  }
}

interface Step {
  readonly partition: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

/**
 * Breadth-first from `source` over "a leads a partition that b replicates": the shortest chain
 * of leadership moves ending at a member that `accepts`, or undefined.
 */
function shortestChain(
  source: NodeId,
  lists: readonly (readonly NodeId[])[],
  leaders: readonly NodeId[],
  accepts: (node: NodeId) => boolean,
): Step[] | undefined {
  const via = new Map<NodeId, Step | null>([[source, null]]);
  let frontier = [source];
  while (frontier.length > 0) {
    const next: NodeId[] = [];
    for (const from of frontier) {
      for (let p = 0; p < lists.length; p++) {
        if (leaders[p] !== from) continue;
        for (const to of lists[p] as readonly NodeId[]) {
          if (via.has(to)) continue;
          via.set(to, { partition: p, from, to });
          if (accepts(to)) return unwind(via, to);
          next.push(to);
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

function unwind(via: ReadonlyMap<NodeId, Step | null>, end: NodeId): Step[] {
  const steps: Step[] = [];
  for (let step = via.get(end); step; step = via.get(step.from)) steps.unshift(step);
  return steps;
}
