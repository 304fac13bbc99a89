/**
 * The dashboard's reducer: a pure function from (state, what happened) to the next state. What
 * happened comes from the node watchers (a status, a failed or silent stream, a new member list,
 * a removed node gone), the cluster manager (a process paused or stopped) and the clock (one tick
 * a second, for the latency history). Events for the feed are derived here by comparing the
 * state before and after.
 */

import { clusterFigures } from "./cluster-figures.js";
import {
  type FeedEvent,
  HISTORY_POINTS,
  MAX_EVENTS,
  type NodeEntry,
  newNode,
  type PartitionEntry,
  type Reachability,
  type StatusView,
  type TopState,
} from "./model.js";

type NewEvent = Omit<FeedEvent, "id">;

export type TopAction =
  | { readonly type: "status"; readonly at: number; readonly status: StatusView }
  | { readonly type: "failed"; readonly at: number; readonly node: number }
  | { readonly type: "silent"; readonly at: number; readonly node: number }
  | {
      readonly type: "process";
      readonly at: number;
      readonly node: number;
      readonly process: "running" | "paused" | "stopped";
    }
  | {
      /** The member list changed: nodes added are watched from now on, nodes removed until gone. */
      readonly type: "members";
      readonly at: number;
      readonly members: readonly { readonly id: number; readonly address: string }[];
      /** The partitions' replicas under the new list, when the routing table could be read. */
      readonly partitions:
        | readonly { readonly id: number; readonly replicas: readonly number[] }[]
        | undefined;
    }
  /** A node no longer a member stopped answering: it is off the dashboard. */
  | { readonly type: "gone"; readonly at: number; readonly node: number }
  | { readonly type: "tick"; readonly at: number };

type NodeAction = Extract<TopAction, { type: "status" | "failed" | "silent" | "process" }>;

export function reduce(state: TopState, action: TopAction): TopState {
  if (action.type === "tick") return { ...state, latency: sampleLatency(state, action.at) };
  if (action.type === "members") return withMembers(state, action);
  if (action.type === "gone") return withoutNode(state, action);
  const nodes = state.nodes.map((n) => (n.id === nodeOf(action) ? nextNode(n, action) : n));
  const partitions = resolvePartitions(state.partitions, nodes);
  return next(state, nodes, partitions, [
    ...nodeEvents(state.nodes, nodes, state.partitions, action.at),
    ...partitionEvents(state.partitions, partitions, nodes, action.at),
    ...snapshotEvents(state.nodes, action),
  ]);
}

function next(
  state: TopState,
  nodes: readonly NodeEntry[],
  partitions: readonly PartitionEntry[],
  events: readonly NewEvent[],
): TopState {
  return {
    ...state,
    nodes,
    partitions,
    figures: clusterFigures(nodes),
    events: events.length === 0 ? state.events : numbered(state.events, events).slice(-MAX_EVENTS),
  };
}

/** A new member list: its new nodes appear (not heard from yet), the partitions take their new replicas. */
function withMembers(state: TopState, action: Extract<TopAction, { type: "members" }>): TopState {
  const ids = action.members.map((m) => m.id).sort((a, b) => a - b);
  const events: NewEvent[] = [];
  for (const m of action.members) {
    if (state.members.includes(m.id)) continue;
    events.push({
      at: action.at,
      kind: "membership",
      text: `node ${m.id} joined the cluster (${m.address})`,
    });
  }
  for (const id of state.members) {
    if (ids.includes(id)) continue;
    events.push({
      at: action.at,
      kind: "membership",
      text: `node ${id} was removed from the cluster: its replicas move to the other nodes`,
    });
  }
  const added = action.members.filter((m) => !state.nodes.some((n) => n.id === m.id)).map(newNode);
  const nodes = [...state.nodes, ...added].sort((a, b) => a.id - b.id);
  const replicas = new Map(action.partitions?.map((p) => [p.id, p.replicas]));
  const partitions = resolvePartitions(
    state.partitions.map((p) => ({ ...p, replicas: [...(replicas.get(p.id) ?? p.replicas)] })),
    nodes,
  );
  return { ...next(state, nodes, partitions, events), members: ids };
}

function withoutNode(state: TopState, action: Extract<TopAction, { type: "gone" }>): TopState {
  if (state.members.includes(action.node) || !state.nodes.some((n) => n.id === action.node)) return state;
  const nodes = state.nodes.filter((n) => n.id !== action.node);
  const partitions = resolvePartitions(state.partitions, nodes);
  return next(state, nodes, partitions, [
    { at: action.at, kind: "membership", text: `node ${action.node} left the cluster` },
    ...partitionEvents(state.partitions, partitions, nodes, action.at),
  ]);
}

function nodeOf(action: NodeAction): number {
  return action.type === "status" ? action.status.node : action.node;
}

function nextNode(node: NodeEntry, action: NodeAction): NodeEntry {
  const enter = (state: Reachability): NodeEntry =>
    node.state === state && node.since !== undefined ? node : { ...node, state, since: action.at };
  switch (action.type) {
    case "status":
      // A paused node's stream may still deliver what was in flight; the manager's word wins.
      if (node.state === "PAUSED") return { ...node, lastSeen: action.at, status: action.status };
      return { ...enter("UP"), lastSeen: action.at, status: action.status };
    case "failed":
      return node.state === "PAUSED" ? node : enter("DOWN");
    case "silent":
      return node.state === "UP" ? enter("UNREACHABLE") : node;
    case "process":
      if (action.process === "paused") return enter("PAUSED");
      if (action.process === "stopped") return enter("DOWN");
      // Running again: the stream decides whether it is UP; until then it is not answering.
      return node.state === "PAUSED" ? enter("UNREACHABLE") : node;
  }
}

/**
 * Each partition's leader, from the reachable replicas' views with the highest term: the leader
 * they name, if that node is UP. Statuses arrive one node at a time, so a follower may report a
 * new term and leader before the leader's own status does; trusting the newest term keeps the
 * dashboard from seeing the partition leaderless in between.
 */
function resolvePartitions(
  previous: readonly PartitionEntry[],
  nodes: readonly NodeEntry[],
): PartitionEntry[] {
  const up = new Set(nodes.filter((n) => n.state === "UP").map((n) => n.id));
  const newest = new Map<number, { term: number; leader: number }>();
  for (const node of nodes) {
    if (node.state !== "UP" || !node.status) continue;
    for (const g of node.status.groups) {
      const known = newest.get(g.partition);
      if (!known || g.term > known.term) newest.set(g.partition, { term: g.term, leader: g.leader });
      else if (g.term === known.term && known.leader === 0) known.leader = g.leader;
    }
  }
  return previous.map((p) => {
    const view = newest.get(p.id);
    const leader = view && up.has(view.leader) ? view.leader : 0;
    const term = Math.max(p.term, view?.term ?? 0);
    return leader === 0
      ? { ...p, leader, term }
      : { ...p, leader, term, lastLeader: leader, lastLeaderTerm: view?.term ?? term };
  });
}

const isDown = (state: Reachability) => state !== "UP";

function nodeEvents(
  before: readonly NodeEntry[],
  after: readonly NodeEntry[],
  partitions: readonly PartitionEntry[],
  at: number,
): NewEvent[] {
  const events: NewEvent[] = [];
  for (const node of after) {
    const old = before.find((n) => n.id === node.id);
    if (!old || old.state === node.state) continue;
    if (node.state === "UP") {
      // Coming up for the first time since the dashboard started is not news.
      if (old.lastSeen !== undefined)
        events.push({ at, kind: "node-up", text: `node ${node.id} is up again` });
      continue;
    }
    if (isDown(old.state) && old.lastSeen === undefined && node.state === "DOWN") {
      events.push({ at, kind: "node-down", text: `node ${node.id} is down (${node.address})` });
      continue;
    }
    if (old.state !== "UP" && node.state !== "PAUSED") continue;
    const led = partitions.filter((p) => p.leader === node.id).length;
    const what = { DOWN: "is down", PAUSED: "is paused", UNREACHABLE: "stopped answering" }[node.state];
    events.push({
      at,
      kind: "node-down",
      text: `node ${node.id} ${what}${led > 0 ? `: it led ${led} partition${led === 1 ? "" : "s"}` : ""}`,
    });
  }
  return events;
}

function partitionEvents(
  before: readonly PartitionEntry[],
  after: readonly PartitionEntry[],
  nodes: readonly NodeEntry[],
  at: number,
): NewEvent[] {
  const events: NewEvent[] = [];
  const up = (id: number) => nodes.find((n) => n.id === id)?.state === "UP";
  for (const p of after) {
    const old = before.find((o) => o.id === p.id);
    if (!old || old.leader === p.leader) continue;
    if (p.leader === 0) {
      // Lost with its leader's node: the node's own event says so.
      if (up(old.leader)) {
        events.push({
          at,
          kind: "leaderless",
          text: `partition ${p.id} has no leader (was node ${old.leader})`,
        });
      }
      continue;
    }
    if (old.lastLeader === 0) continue;
    if (old.lastLeader === p.leader && old.lastLeaderTerm === p.lastLeaderTerm) continue;
    if (old.leader !== 0 && up(old.leader)) {
      events.push({
        at,
        kind: "leader-change",
        text: `leader change: partition ${p.id} moved from node ${old.leader} to node ${p.leader}, term ${p.term}`,
      });
    } else {
      events.push({
        at,
        kind: "election",
        text: `election: partition ${p.id} elected node ${p.leader}, term ${p.term}`,
      });
    }
  }
  return events;
}

function snapshotEvents(before: readonly NodeEntry[], action: NodeAction): NewEvent[] {
  if (action.type !== "status") return [];
  const old = before.find((n) => n.id === action.status.node)?.status;
  if (!old) return [];
  const events: NewEvent[] = [];
  for (const g of action.status.groups) {
    const sent = g.snapshotsSent - (old.groups.find((o) => o.partition === g.partition)?.snapshotsSent ?? 0);
    if (sent <= 0) continue;
    events.push({
      at: action.at,
      kind: "snapshot",
      text: `snapshot: node ${action.status.node} sent partition ${g.partition} to a follower${sent > 1 ? ` (${sent}x)` : ""}`,
    });
  }
  return events;
}

function numbered(old: readonly FeedEvent[], added: readonly NewEvent[]): FeedEvent[] {
  const last = old.at(-1)?.id ?? 0;
  return [...old, ...added.map((e, i) => ({ ...e, id: last + 1 + i }))];
}

function sampleLatency(state: TopState, at: number): TopState["latency"] {
  return [...state.latency, { at, p99Ms: state.figures.allP99Ms }].slice(-HISTORY_POINTS);
}
