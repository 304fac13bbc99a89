/**
 * When a cluster is ready: every running node answers Admin.Status and, for every partition, its
 * replicas that answered agree on one leader, which itself answered and sees itself as leader.
 */

import { TinyoClient } from "../client/index.js";
import { type NodeStatus, Role } from "../gen/tinyo/v1/admin_pb.js";

export interface NodeEndpoint {
  readonly id: number;
  readonly address: string;
}

/** Each node's status; undefined for a node that did not answer within `timeoutMs`. */
export async function nodeStatuses(
  nodes: readonly NodeEndpoint[],
  timeoutMs = 1500,
): Promise<Map<number, NodeStatus | undefined>> {
  const client = new TinyoClient({ endpoints: nodes.map((n) => n.address) });
  try {
    const answers = await Promise.all(
      nodes.map(async (node) => {
        try {
          const response = await client.admin(node.address).status({}, { timeoutMs });
          return [node.id, response.status] as const;
        } catch {
          return [node.id, undefined] as const;
        }
      }),
    );
    return new Map(answers);
  } finally {
    client.close();
  }
}

/** partition -> leader when every partition has an agreed leader, else undefined. */
export function agreedLeaders(
  statuses: ReadonlyMap<number, NodeStatus | undefined>,
  partitions: number,
): Map<number, number> | undefined {
  const leaders = new Map<number, number>();
  const answered = [...statuses.values()].filter((s): s is NodeStatus => s !== undefined);
  for (let partition = 0; partition < partitions; partition++) {
    const views = answered.flatMap((s) => s.groups.filter((g) => g.partition === partition));
    const leader = views[0]?.leader ?? 0;
    if (leader === 0 || views.some((v) => v.leader !== leader)) return undefined;
    const own = statuses.get(leader)?.groups.find((g) => g.partition === partition);
    if (own?.role !== Role.LEADER) return undefined;
    leaders.set(partition, leader);
  }
  return leaders;
}

/** How many partitions each node leads, by its own account. */
export function leadersHeld(statuses: ReadonlyMap<number, NodeStatus | undefined>): Map<number, number> {
  const held = new Map<number, number>();
  for (const [id, status] of statuses) {
    held.set(id, status?.groups.filter((g) => g.role === Role.LEADER).length ?? 0);
  }
  return held;
}
