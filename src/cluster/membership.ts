/**
 * Growing and shrinking a local cluster while it serves (`cluster add`, `cluster remove`).
 *
 * Add: the supervisor records the new node in cluster.json and starts it with --join; the node
 * asks a member to admit it, the metadata leader adds it to the member list, and every
 * partition's leader moves replicas to it (learner, caught up, promoted, old replica removed).
 * Remove: a RemoveMember call takes the node out of the member list; the leaders move its
 * replicas to the others and it hands over its leaderships; once no partition has it in its
 * configuration, the supervisor stops it and deletes its data.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectError } from "@connectrpc/connect";
import { TinyoClient } from "../client/index.js";
import { type NodeStatus, Role } from "../gen/tinyo/v1/admin_pb.js";
import { nodeId, partitionId } from "../node/ids.js";
import { buildPlacement } from "../node/ring/index.js";
import { clusterTokenHeaders } from "../node/service/admin-auth.js";
import type { ClusterControl } from "./control.js";
import { ClusterError, UnknownNodeError } from "./errors.js";
import { portFree } from "./ports.js";
import { nodeStatuses } from "./readiness.js";
import { addressOf, type ClusterMember, LOOPBACK } from "./spec.js";

/** Where moves stand, from every running node's status. */
export interface MoveProgress {
  /** Learners catching up, summed over the nodes (each counts those it drives as a leader). */
  readonly inFlight: number;
  /** Partitions whose leader's configuration is not its placement yet (or that have no leader). */
  readonly unsettled: number;
  /** node -> replicas held, learners among them, partitions led. */
  readonly nodes: ReadonlyMap<number, { replicas: number; learners: number; leaders: number }>;
  /** node -> learners catching up that it drives as a leader. */
  readonly inFlightBy: ReadonlyMap<number, number>;
}

export function moveProgress(
  statuses: ReadonlyMap<number, NodeStatus | undefined>,
  settings: { readonly partitions: number; readonly vnodes: number; readonly replication: number },
): MoveProgress {
  const { partitions, vnodes, replication } = settings;
  const nodes = new Map<number, { replicas: number; learners: number; leaders: number }>();
  const inFlightBy = new Map<number, number>();
  let inFlight = 0;
  const settled = new Set<number>();
  for (const [id, status] of statuses) {
    if (!status) continue;
    inFlight += status.moves?.inFlight ?? 0;
    inFlightBy.set(id, status.moves?.inFlight ?? 0);
    let learners = 0;
    let leaders = 0;
    for (const g of status.groups) {
      if (g.role === Role.LEADER) leaders++;
      if (g.learners.includes(id)) learners++;
    }
    nodes.set(id, { replicas: status.groups.length, learners, leaders });
  }
  // A partition is settled when its leader's voters are its placement under the member list
  // (the newest list any node reports) and it has no learner.
  const reports = [...statuses.values()].filter((st): st is NodeStatus => st !== undefined);
  const newest = reports.sort((a, b) => Number(b.membershipVersion - a.membershipVersion))[0];
  if (newest && newest.members.length >= replication) {
    const placement = buildPlacement({
      members: newest.members.map((m) => nodeId(m.node)),
      partitions,
      vnodes,
      replication,
    });
    for (const status of reports) {
      for (const g of status.groups) {
        if (g.role !== Role.LEADER || g.learners.length > 0) continue;
        const target = placement.preferenceList(partitionId(g.partition));
        if (g.replicas.length === target.length && target.every((n) => g.replicas.includes(n))) {
          settled.add(g.partition);
        }
      }
    }
  }
  return { inFlight, unsettled: partitions - settled.size, nodes, inFlightBy };
}

export interface AddedNode {
  readonly id: number;
  readonly address: string;
}

/**
 * Adds `count` nodes: new ids after the highest, ports in the cluster's scheme (base + id, and
 * base + 100 + id for metrics). Resolves once each has joined (it lists itself as a member).
 */
export async function addNodes(
  control: ClusterControl,
  count: number,
  timeoutMs: number,
): Promise<AddedNode[]> {
  if (!Number.isInteger(count) || count < 1 || count > 16) {
    throw new ClusterError(`--count ${count} is out of range: add 1 to 16 nodes at a time`);
  }
  const spec = control.spec;
  const first = spec.members[0] as ClusterMember;
  const base = first.port - first.id;
  const metricsBase = first.metricsPort === undefined ? undefined : first.metricsPort - first.id;
  let next = Math.max(...spec.members.map((m) => m.id)) + 1;
  const added: AddedNode[] = [];
  for (let i = 0; i < count; i++, next++) {
    const id = next;
    const port = base + id;
    const metricsPort = metricsBase === undefined ? undefined : metricsBase + id;
    for (const p of [port, ...(metricsPort === undefined ? [] : [metricsPort])]) {
      if (!(await portFree(LOOPBACK, p))) {
        throw new ClusterError(`port ${p} for node ${id} is taken: free it, then add again`);
      }
    }
    await control.add(id, port, metricsPort);
    const address = addressOf({ id, host: LOOPBACK, port });
    await waitFor(timeoutMs, `node ${id} to join`, async () => {
      const status = (await nodeStatuses([{ id, address }])).get(id);
      return status?.members.some((m) => m.node === id) ?? false;
    });
    added.push({ id, address });
  }
  return added;
}

/**
 * Removes node `id`: out of the member list, then waits until no partition's configuration holds
 * it (its replicas moved, its leaderships handed over), then the supervisor stops it.
 */
export async function removeNode(control: ClusterControl, id: number, timeoutMs: number): Promise<void> {
  const spec = control.spec;
  if (!spec.members.some((m) => m.id === id)) throw new UnknownNodeError(id, control.nodeIds);
  const remaining = spec.members.filter((m) => m.id !== id);
  if (remaining.length < spec.settings.replication) {
    throw new ClusterError(
      `removing node ${id} would leave ${remaining.length} nodes, fewer than the replication factor ` +
        `${spec.settings.replication}: add a node first (tinyo cluster add)`,
    );
  }
  const running = control.status().nodes.filter((n) => n.pid !== null && n.id !== id);
  if (running.length === 0) throw new ClusterError("no other node of the cluster is running");
  const client = new TinyoClient({ endpoints: running.map((n) => n.address) });
  try {
    let lastError = "no node answered";
    let done = false;
    for (const node of running) {
      try {
        await client
          .admin(node.address)
          .removeMember({ node: id }, { timeoutMs: 15_000, headers: clusterTokenHeaders(spec.token) });
        done = true;
        break;
      } catch (error) {
        const err = ConnectError.from(error);
        lastError = err.rawMessage;
        // InvalidArgument / FailedPrecondition: the cluster refused; another node would too.
        if (err.code === 3 || err.code === 9)
          throw new ClusterError(`cannot remove node ${id}: ${lastError}`);
      }
    }
    if (!done) throw new ClusterError(`cannot remove node ${id}: ${lastError}`);
  } finally {
    client.close();
  }
  const others = remaining.map((m) => ({ id: m.id, address: addressOf(m) }));
  const all = [...others, { id, address: addressOf(spec.members.find((m) => m.id === id) as ClusterMember) }];
  await waitFor(timeoutMs, `node ${id}'s replicas to move to the other nodes`, async () => {
    const statuses = await nodeStatuses(all);
    for (const status of statuses.values()) {
      for (const g of status?.groups ?? []) {
        if (g.role !== Role.LEADER) continue;
        if (status?.node === id || g.replicas.includes(id) || g.learners.includes(id)) return false;
      }
    }
    // Every partition has a leader among the others.
    const led = new Set<number>();
    for (const o of others)
      for (const g of statuses.get(o.id)?.groups ?? []) if (g.role === Role.LEADER) led.add(g.partition);
    return led.size === spec.settings.partitions;
  });
  await control.remove(id);
}

async function waitFor(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new ClusterError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(250);
  }
}
