/**
 * The dashboard's state as plain data: what each node last reported about itself (converted from
 * admin.proto's NodeStatus), how reachable it is, the partitions' leaders as the dashboard last
 * resolved them, the event feed and the latency history. The reducer (reducer.ts) is the only
 * thing that makes a new state; the components only read one.
 */

import { type NodeStatus, Role } from "../../gen/tinyo/v1/admin_pb.js";

/** How the dashboard sees a node. */
export type Reachability =
  /** Its status stream delivers. */
  | "UP"
  /** Its stream failed (refused, reset), or its process is known dead. */
  | "DOWN"
  /** Its process is stopped (SIGSTOP) by the cluster manager. */
  | "PAUSED"
  /** Not heard from yet, or its stream went silent without failing. */
  | "UNREACHABLE";

export type GroupRole = "leader" | "follower" | "candidate" | "precandidate" | "unknown";

export interface GroupView {
  readonly partition: number;
  readonly role: GroupRole;
  readonly term: number;
  readonly leader: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly replicas: readonly number[];
  readonly snapshotsSent: number;
  readonly snapshotsInstalled: number;
}

export interface OpView {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The node's latency window as a compressed HdrHistogram (base64), empty if none. */
  readonly histogram: string;
}

export interface StatusView {
  readonly node: number;
  readonly address: string;
  readonly pid: number;
  readonly uptimeMs: number;
  readonly groups: readonly GroupView[];
  readonly puts: OpView;
  readonly gets: OpView;
  /** Replica moves: groups where this node is a learner (catching up), and moves it drives as a leader. */
  readonly moves: { readonly learners: number; readonly inFlight: number };
}

export interface NodeEntry {
  readonly id: number;
  readonly address: string;
  readonly state: Reachability;
  /** When the current state began (ms since the epoch); undefined before anything was heard. */
  readonly since: number | undefined;
  /** When the last status arrived. */
  readonly lastSeen: number | undefined;
  /** The last status the node sent (kept while it is down: the last known figures). */
  readonly status: StatusView | undefined;
}

export interface PartitionEntry {
  readonly id: number;
  /** Its voters in preference order (from the ring: known even while nodes are down). */
  readonly replicas: readonly number[];
  /** The leader the dashboard resolved: a node that is UP and reports leading; 0 when none. */
  readonly leader: number;
  /** The highest term any reachable replica reports. */
  readonly term: number;
  /**
   * The last leader seen (0 if none yet) and its term: the first leader, or the same one seen
   * again after the dashboard lost sight of it, is not an election.
   */
  readonly lastLeader: number;
  readonly lastLeaderTerm: number;
}

export type EventKind =
  | "election"
  | "leader-change"
  | "leaderless"
  | "node-down"
  | "node-up"
  | "snapshot"
  | "membership";

export interface FeedEvent {
  /** Ascending from 1: a stable key while older events scroll away. */
  readonly id: number;
  readonly at: number;
  readonly kind: EventKind;
  readonly text: string;
}

export interface LatencyPoint {
  readonly at: number;
  /** Cluster-wide p99 of puts and gets together, ms; undefined when nothing was served. */
  readonly p99Ms: number | undefined;
}

/** Cluster-wide figures, merged from every UP node's latency histograms. */
export interface ClusterFigures {
  readonly opsPerSecond: number;
  readonly puts: { readonly p50Ms: number; readonly p99Ms: number } | undefined;
  readonly gets: { readonly p50Ms: number; readonly p99Ms: number } | undefined;
  readonly allP99Ms: number | undefined;
}

export interface TopState {
  readonly cluster: string;
  /**
   * By node id, ascending: the members, and removed nodes until their process is gone (a removed
   * node still hands its replicas and leaderships over).
   */
  readonly nodes: readonly NodeEntry[];
  /** The member list (node ids, ascending), as the newest status that changed it says. */
  readonly members: readonly number[];
  /** By partition id. */
  readonly partitions: readonly PartitionEntry[];
  readonly figures: ClusterFigures;
  /** Newest last; at most MAX_EVENTS. */
  readonly events: readonly FeedEvent[];
  /** One point a second, newest last; at most HISTORY_POINTS. */
  readonly latency: readonly LatencyPoint[];
}

export const MAX_EVENTS = 200;
export const HISTORY_POINTS = 60;

const ROLE_NAMES: Record<Role, GroupRole> = {
  [Role.UNSPECIFIED]: "unknown",
  [Role.FOLLOWER]: "follower",
  [Role.PRE_CANDIDATE]: "precandidate",
  [Role.CANDIDATE]: "candidate",
  [Role.LEADER]: "leader",
};

const EMPTY_OP: OpView = { opsPerSecond: 0, p50Ms: 0, p99Ms: 0, histogram: "" };

export function statusView(s: NodeStatus): StatusView {
  const op = (o: NodeStatus["puts"]): OpView =>
    o
      ? { opsPerSecond: o.opsPerSecond, p50Ms: o.p50Ms, p99Ms: o.p99Ms, histogram: o.latencyHistogram }
      : EMPTY_OP;
  return {
    node: s.node,
    address: s.address,
    pid: s.pid,
    uptimeMs: Number(s.uptimeMs),
    groups: s.groups.map((g) => ({
      partition: g.partition,
      role: ROLE_NAMES[g.role] ?? "unknown",
      term: Number(g.term),
      leader: g.leader,
      commitIndex: Number(g.commitIndex),
      appliedIndex: Number(g.appliedIndex),
      replicas: [...g.replicas],
      snapshotsSent: Number(g.snapshotsSent),
      snapshotsInstalled: Number(g.snapshotsInstalled),
    })),
    puts: op(s.puts),
    gets: op(s.gets),
    moves: {
      learners: s.groups.filter((g) => g.learners.includes(s.node)).length,
      inFlight: s.moves?.inFlight ?? 0,
    },
  };
}

/** A node not heard from yet. */
export function newNode(member: { readonly id: number; readonly address: string }): NodeEntry {
  return { ...member, state: "UNREACHABLE", since: undefined, lastSeen: undefined, status: undefined };
}

/** The state before any node was heard from: members and partitions as the routing table gave them. */
export function initialState(
  cluster: string,
  members: readonly { readonly id: number; readonly address: string }[],
  partitions: readonly { readonly id: number; readonly replicas: readonly number[] }[],
): TopState {
  return {
    cluster,
    nodes: [...members].sort((a, b) => a.id - b.id).map(newNode),
    members: members.map((m) => m.id).sort((a, b) => a - b),
    partitions: [...partitions]
      .sort((a, b) => a.id - b.id)
      .map((p) => ({
        id: p.id,
        replicas: [...p.replicas],
        leader: 0,
        term: 0,
        lastLeader: 0,
        lastLeaderTerm: 0,
      })),
    figures: { opsPerSecond: 0, puts: undefined, gets: undefined, allP99Ms: undefined },
    events: [],
    latency: [],
  };
}
