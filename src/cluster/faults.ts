/**
 * Network partitions between a cluster's nodes, made with each node's Admin fault rules: a node
 * drops all Raft traffic (both ways) with every node outside its group. Client traffic is never
 * affected, so any node still answers clients, and a request that needs its partition's leader
 * fails with Unavailable on the side without a quorum. Nodes not named form one more group.
 */

import { create } from "@bufbuild/protobuf";
import { TinyoClient } from "../client/index.js";
import { FaultDirection, type FaultRule, FaultRuleSchema } from "../gen/tinyo/v1/admin_pb.js";
import { clusterTokenHeaders } from "../node/service/admin-auth.js";
import { ClusterError, UnknownNodeError } from "./errors.js";
import type { NodeEndpoint } from "./readiness.js";

export interface PartitionPlan {
  /** The groups, the implicit one of unnamed nodes last. */
  readonly groups: readonly (readonly number[])[];
  /** The rules each node gets. */
  readonly rules: ReadonlyMap<number, readonly FaultRule[]>;
}

export interface FaultOutcome {
  /** Nodes whose rules were set (or cleared). */
  readonly applied: readonly number[];
  /** Nodes that did not answer (down or paused): their peers' rules still cut them off. */
  readonly unreachable: readonly number[];
}

/** From groups as typed ("1,2", "3,4,5"); an error for unknown or repeated ids. */
export function planPartition(groupTexts: readonly string[], members: readonly number[]): PartitionPlan {
  if (groupTexts.length === 0) throw new ClusterError("give at least one group of node ids, e.g. 1,2 3,4,5");
  const seen = new Set<number>();
  const groups = groupTexts.map((text) =>
    text.split(",").map((part) => {
      const id = Number(part.trim());
      if (!Number.isInteger(id) || part.trim() === "") {
        throw new ClusterError(`'${text}' is not a list of node ids (e.g. 1,2)`);
      }
      if (!members.includes(id)) throw new UnknownNodeError(id, members);
      if (seen.has(id)) throw new ClusterError(`node ${id} is in two groups`);
      seen.add(id);
      return id;
    }),
  );
  const rest = members.filter((id) => !seen.has(id));
  if (rest.length > 0) groups.push(rest);
  if (groups.length < 2) throw new ClusterError("a partition needs at least two groups");
  const rules = new Map<number, FaultRule[]>();
  for (const group of groups) {
    for (const id of group) {
      rules.set(
        id,
        members
          .filter((peer) => !group.includes(peer))
          .map((peer) => create(FaultRuleSchema, { peer, direction: FaultDirection.BOTH, drop: true })),
      );
    }
  }
  return { groups, rules };
}

const FAULT_CALL_MS = 2000;

/** `token`: the cluster token, which Admin's fault calls require. */
export async function applyPartition(
  nodes: readonly NodeEndpoint[],
  plan: PartitionPlan,
  token: string,
): Promise<FaultOutcome> {
  const options = { timeoutMs: FAULT_CALL_MS, headers: clusterTokenHeaders(token) };
  return onEveryNode(nodes, (client, node) =>
    client.admin(node.address).setFaults({ rules: [...(plan.rules.get(node.id) ?? [])] }, options),
  );
}

/** Clears every node's fault rules. */
export async function healPartition(nodes: readonly NodeEndpoint[], token: string): Promise<FaultOutcome> {
  const options = { timeoutMs: FAULT_CALL_MS, headers: clusterTokenHeaders(token) };
  return onEveryNode(nodes, (client, node) => client.admin(node.address).clearFaults({}, options));
}

async function onEveryNode(
  nodes: readonly NodeEndpoint[],
  call: (client: TinyoClient, node: NodeEndpoint) => Promise<unknown>,
): Promise<FaultOutcome> {
  const client = new TinyoClient({ endpoints: nodes.map((n) => n.address) });
  try {
    const results = await Promise.all(
      nodes.map((node) =>
        call(client, node).then(
          () => true,
          () => false,
        ),
      ),
    );
    return {
      applied: nodes.filter((_, i) => results[i]).map((n) => n.id),
      unreachable: nodes.filter((_, i) => !results[i]).map((n) => n.id),
    };
  } finally {
    client.close();
  }
}
