/**
 * Plain dashboard states for the reducer and component tests: a 5-node cluster with 8
 * partitions (RF 3), built by feeding the reducer statuses as the nodes would send them.
 */

import { build, encodeIntoCompressedBase64 } from "hdr-histogram-js";
import {
  type GroupRole,
  initialState,
  type OpView,
  type StatusView,
  type TopState,
} from "../../src/ui/top/model.js";
import { reduce } from "../../src/ui/top/reducer.js";

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const NODES = [1, 2, 3, 4, 5];
export const PARTITIONS = 8;

/** Partition p is replicated on nodes p%5+1, (p+1)%5+1, (p+2)%5+1 and led by the first of them. */
export const replicasOf = (p: number): number[] => [0, 1, 2].map((i) => ((p + i) % 5) + 1);
export const firstLeaders = (): Map<number, number> =>
  new Map(Array.from({ length: PARTITIONS }, (_, p) => [p, replicasOf(p)[0] as number]));

/** An op window whose latencies (µs) are the given values. */
export function op(latenciesUs: readonly number[], opsPerSecond = latenciesUs.length / 5): OpView {
  const h = build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 2,
  });
  for (const v of latenciesUs) h.recordValue(v);
  const histogram = encodeIntoCompressedBase64(h);
  const sorted = [...latenciesUs].sort((a, b) => a - b);
  const pick = (q: number) => (sorted[Math.floor(q * (sorted.length - 1))] ?? 0) / 1000;
  return { opsPerSecond, p50Ms: pick(0.5), p99Ms: pick(0.99), histogram };
}

export interface StatusOptions {
  /** Partition -> leader as this node sees it (default: firstLeaders()). */
  readonly leaders?: ReadonlyMap<number, number>;
  readonly term?: (partition: number) => number;
  readonly commit?: number;
  readonly applied?: (partition: number) => number;
  readonly snapshotsSent?: (partition: number) => number;
  readonly latencyUs?: readonly number[];
}

export function status(node: number, o: StatusOptions = {}): StatusView {
  const leaders = o.leaders ?? firstLeaders();
  const groups = Array.from({ length: PARTITIONS }, (_, p) => p)
    .filter((p) => replicasOf(p).includes(node))
    .map((p) => {
      const leader = leaders.get(p) ?? 0;
      const role: GroupRole = leader === node ? "leader" : "follower";
      return {
        partition: p,
        role,
        term: o.term?.(p) ?? 2,
        leader,
        commitIndex: o.commit ?? 500,
        appliedIndex: o.applied?.(p) ?? o.commit ?? 500,
        replicas: replicasOf(p),
        snapshotsSent: o.snapshotsSent?.(p) ?? 0,
        snapshotsInstalled: 0,
      };
    });
  const latency = o.latencyUs ?? [800, 900, 1000, 1100, 1200, 1500, 4000];
  return {
    node,
    address: `127.0.0.1:5005${node}`,
    pid: 4000 + node,
    uptimeMs: 125_000,
    groups,
    moves: { learners: 0, inFlight: 0 },
    puts: op(latency, 120),
    gets: op(
      latency.map((v) => v / 2),
      80,
    ),
  };
}

export function emptyState(): TopState {
  return initialState(
    "default",
    NODES.map((id) => ({ id, address: `127.0.0.1:5005${id}` })),
    Array.from({ length: PARTITIONS }, (_, p) => ({ id: p, replicas: replicasOf(p) })),
  );
}

/** Every node has reported once, at T0; a minute of latency history. */
export function healthyState(): TopState {
  let state = emptyState();
  for (const id of NODES) state = reduce(state, { type: "status", at: T0, status: status(id) });
  for (let i = 0; i < 60; i++) {
    state = reduce(state, { type: "tick", at: T0 + i * 1000 });
  }
  return state;
}

/** Node 1 (leader of partitions 0 and 5) was killed at T0 + 1 s; nobody took over yet. */
export function nodeDownState(): TopState {
  return reduce(healthyState(), { type: "failed", at: T0 + 1000, node: 1 });
}
