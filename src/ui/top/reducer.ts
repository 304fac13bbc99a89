/**
 * The dashboard's reducer: a pure function from (state, what happened) to the next state. What
 * happened comes from the node watchers (a status, a failed or silent stream), the cluster
 * manager (a process paused or stopped) and the clock (one tick a second, for the latency
 * history). Events for the feed are derived here by comparing the state before and after.
 */

import { clusterFigures } from "./cluster-figures.js";
import {
  type FeedEvent,
  HISTORY_POINTS,
  MAX_EVENTS,
  type NodeEntry,
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
  | { readonly type: "tick"; readonly at: number };

export function reduce(state: TopState, action: TopAction): TopState {
  if (action.type === "tick") return { ...state, latency: sampleLatency(state, action.at) };
  const nodes = state.nodes.map((n) => (n.id === nodeOf(action) ? nextNode(n, action) : n));
  const partitions = resolvePartitions(state.partitions, nodes);
  const events = [
    ...nodeEvents(state.nodes, nodes, state.partitions, action.at),
    ...partitionEvents(state.partitions, partitions, nodes, action.at),
    ...snapshotEvents(state.nodes, action),
  ];
  return {
    ...state,
    nodes,
    partitions,
    figures: clusterFigures(nodes),
    events: events.length === 0 ? state.events : numbered(state.events, events).slice(-MAX_EVENTS),
  };
}

function nodeOf(action: Exclude<TopAction, { type: "tick" }>): number {
  return action.type === "status" ? action.status.node : action.node;
}

function nextNode(node: NodeEntry, action: Exclude<TopAction, { type: "tick" }>): NodeEntry {
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

function snapshotEvents(
  before: readonly NodeEntry[],
  action: Exclude<TopAction, { type: "tick" }>,
): NewEvent[] {
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
