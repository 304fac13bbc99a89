/**
 * What the components show, computed from the state: one row per node and one cell per
 * partition, with the figures that need several nodes' reports (leaders held, replication lag).
 */

import { nodeLatency, type Percentiles } from "./cluster-figures.js";
import type { NodeEntry, PartitionEntry, Reachability, TopState } from "./model.js";

/** A replica this many entries behind its leader's commit index is flagged as lagging. */
export const LAG_ENTRIES = 100;

export interface NodeRow {
  readonly id: number;
  readonly address: string;
  readonly state: Reachability;
  /** Seconds in the current state (undefined before anything was heard). */
  readonly forSeconds: number | undefined;
  readonly pid: number | undefined;
  readonly uptimeSeconds: number | undefined;
  readonly led: number;
  readonly held: number;
  /** Learners held here / moves driven from here as a leader; undefined without a status. */
  readonly moves: { readonly learners: number; readonly inFlight: number } | undefined;
  readonly terms: { readonly min: number; readonly max: number } | undefined;
  /** The most entries any of its replicas trails its leader's commit index by. */
  readonly lag: number | undefined;
  readonly opsPerSecond: number | undefined;
  readonly latency: Percentiles | undefined;
}

export type ReplicaMark = "leader" | "follower" | "lagging" | "down";

export interface PartitionCell {
  readonly id: number;
  readonly leader: number;
  readonly term: number;
  readonly replicas: readonly { readonly node: number; readonly mark: ReplicaMark }[];
}

export interface Summary {
  readonly nodesUp: number;
  readonly nodesTotal: number;
  readonly partitionsLed: number;
  readonly partitionsTotal: number;
}

/** Entries the replica on `node` trails the partition's leader by; undefined when unknown. */
function replicaLag(state: TopState, partition: PartitionEntry, node: NodeEntry): number | undefined {
  const leaderNode = state.nodes.find((n) => n.id === partition.leader);
  const commit = leaderNode?.status?.groups.find((g) => g.partition === partition.id)?.commitIndex;
  const applied = node.status?.groups.find((g) => g.partition === partition.id)?.appliedIndex;
  if (commit === undefined || applied === undefined) return undefined;
  return Math.max(0, commit - applied);
}

export function nodeRows(state: TopState, now: number): NodeRow[] {
  return state.nodes.map((node) => {
    const status = node.state === "UP" ? node.status : undefined;
    const terms = status?.groups.map((g) => g.term) ?? [];
    const lags = state.partitions.flatMap((p) =>
      status && p.replicas.includes(node.id) ? (replicaLag(state, p, node) ?? []) : [],
    );
    return {
      id: node.id,
      address: node.address,
      state: node.state,
      forSeconds: node.since === undefined ? undefined : Math.max(0, Math.floor((now - node.since) / 1000)),
      pid: node.status?.pid || undefined,
      uptimeSeconds: status ? Math.floor(status.uptimeMs / 1000) : undefined,
      led: state.partitions.filter((p) => p.leader === node.id).length,
      held: state.partitions.filter((p) => p.replicas.includes(node.id)).length,
      moves: status?.moves,
      terms: terms.length === 0 ? undefined : { min: Math.min(...terms), max: Math.max(...terms) },
      lag: lags.length === 0 ? undefined : Math.max(...lags),
      opsPerSecond: status ? status.puts.opsPerSecond + status.gets.opsPerSecond : undefined,
      latency: status ? nodeLatency(status) : undefined,
    };
  });
}

export function partitionCells(state: TopState): PartitionCell[] {
  return state.partitions.map((p) => ({
    id: p.id,
    leader: p.leader,
    term: p.term,
    replicas: p.replicas.map((id) => {
      const node = state.nodes.find((n) => n.id === id);
      if (node?.state !== "UP") return { node: id, mark: "down" };
      if (id === p.leader) return { node: id, mark: "leader" };
      const lag = replicaLag(state, p, node);
      return { node: id, mark: lag !== undefined && lag >= LAG_ENTRIES ? "lagging" : "follower" };
    }),
  }));
}

export function summary(state: TopState): Summary {
  return {
    nodesUp: state.nodes.filter((n) => n.state === "UP").length,
    nodesTotal: state.nodes.length,
    partitionsLed: state.partitions.filter((p) => p.leader !== 0).length,
    partitionsTotal: state.partitions.length,
  };
}
