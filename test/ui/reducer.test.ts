import { describe, expect, it } from "vitest";
import { HISTORY_POINTS } from "../../src/ui/top/model.js";
import { reduce } from "../../src/ui/top/reducer.js";
import {
  firstLeaders,
  healthyState,
  NODES,
  nodeDownState,
  PARTITIONS,
  replicasOf,
  status,
  T0,
} from "./fixtures.js";

describe("the dashboard reducer", () => {
  it("turns the first statuses into UP nodes and resolved leaders, with no events", () => {
    const state = healthyState();
    expect(state.nodes.map((n) => n.state)).toEqual(["UP", "UP", "UP", "UP", "UP"]);
    expect(state.partitions.map((p) => p.leader)).toEqual([...firstLeaders().values()]);
    expect(state.partitions.every((p) => p.term === 2 && p.lastLeaderTerm === 2)).toBe(true);
    expect(state.events).toEqual([]);
  });

  it("marks a failed node DOWN since then, drops its leaderships and says so once", () => {
    const state = nodeDownState();
    const node1 = state.nodes[0];
    expect(node1).toMatchObject({ state: "DOWN", since: T0 + 1000 });
    expect(state.partitions.filter((p) => p.leader === 0).map((p) => p.id)).toEqual([0, 5]);
    expect(state.events.map((e) => e.text)).toEqual(["node 1 is down: it led 2 partitions"]);
    // A second failure of the same stream changes nothing.
    expect(reduce(state, { type: "failed", at: T0 + 5000, node: 1 })).toMatchObject({
      nodes: state.nodes,
      events: state.events,
    });
  });

  it("reports the election of a new leader with its term", () => {
    let state = nodeDownState();
    const leaders = firstLeaders();
    leaders.set(0, 2);
    leaders.set(5, 2);
    const term = (p: number) => (p === 0 || p === 5 ? 3 : 2);
    for (const id of [2, 3, 4, 5]) {
      state = reduce(state, { type: "status", at: T0 + 2000, status: status(id, { leaders, term }) });
    }
    expect(state.partitions[0]).toMatchObject({ leader: 2, term: 3 });
    expect(state.partitions[5]).toMatchObject({ leader: 2, term: 3 });
    expect(state.events.map((e) => [e.kind, e.text])).toEqual([
      ["node-down", "node 1 is down: it led 2 partitions"],
      ["election", "election: partition 0 elected node 2, term 3"],
      ["election", "election: partition 5 elected node 2, term 3"],
    ]);
  });

  it("tells a leader change (old leader still up) from an election, and a leaderless partition", () => {
    let state = healthyState();
    const leaders = firstLeaders();
    leaders.set(1, 3); // partition 1: node 2 -> node 3, node 2 still up
    const term = (p: number) => (p === 1 ? 3 : 2);
    for (const id of NODES)
      state = reduce(state, { type: "status", at: T0 + 2000, status: status(id, { leaders, term }) });
    expect(state.events.map((e) => e.text)).toEqual([
      "leader change: partition 1 moved from node 2 to node 3, term 3",
    ]);
    leaders.set(1, 0);
    for (const id of NODES)
      state = reduce(state, { type: "status", at: T0 + 3000, status: status(id, { leaders }) });
    expect(state.events.at(-1)?.text).toBe("partition 1 has no leader (was node 3)");
  });

  it("reports snapshots sent, from the growth of a node's counters", () => {
    let state = healthyState();
    state = reduce(state, {
      type: "status",
      at: T0 + 2000,
      status: status(3, { snapshotsSent: (p) => (p === 2 ? 1 : 0) }),
    });
    expect(state.events.map((e) => e.text)).toEqual(["snapshot: node 3 sent partition 2 to a follower"]);
  });

  it("knows PAUSED from the manager, UNREACHABLE from silence, and UP again from a status", () => {
    let state = healthyState();
    state = reduce(state, { type: "silent", at: T0 + 3000, node: 4 });
    expect(state.nodes[3]).toMatchObject({ state: "UNREACHABLE", since: T0 + 3000 });
    state = reduce(state, { type: "process", at: T0 + 3500, node: 4, process: "paused" });
    expect(state.nodes[3]?.state).toBe("PAUSED");
    state = reduce(state, { type: "status", at: T0 + 3600, status: status(4) });
    expect(state.nodes[3]?.state).toBe("PAUSED");
    state = reduce(state, { type: "process", at: T0 + 4000, node: 4, process: "running" });
    state = reduce(state, { type: "status", at: T0 + 4100, status: status(4) });
    expect(state.nodes[3]).toMatchObject({ state: "UP", since: T0 + 4100 });
    expect(state.events.map((e) => e.text)).toEqual([
      "node 4 stopped answering: it led 1 partition",
      "node 4 is paused",
      "node 4 is up again",
    ]);
  });

  it("merges the nodes' histograms for cluster percentiles and keeps a minute of history", () => {
    let state = healthyState();
    // Every node: puts of 0.8..4 ms, gets half that; merged p99 of puts is near 4 ms.
    expect(state.figures.opsPerSecond).toBeCloseTo(5 * 200);
    expect(state.figures.puts?.p50Ms).toBeCloseTo(1.1, 1);
    expect(state.figures.puts?.p99Ms).toBeCloseTo(4, 1);
    expect(state.figures.gets?.p99Ms).toBeCloseTo(2, 1);
    const slow = status(5, { latencyUs: Array.from({ length: 50 }, () => 200_000) });
    state = reduce(state, { type: "status", at: T0 + 61_000, status: slow });
    expect(state.figures.allP99Ms).toBeCloseTo(200, -1);
    state = reduce(state, { type: "tick", at: T0 + 61_000 });
    expect(state.latency).toHaveLength(HISTORY_POINTS);
    expect(state.latency.at(-1)?.p99Ms).toBeCloseTo(200, -1);
    expect(state.latency[0]?.at).toBe(T0 + 1000);
  });

  it("adds a node that joined, unheard of until its first status, with the partitions' new replicas", () => {
    let state = healthyState();
    const members = [...NODES, 6].map((id) => ({ id, address: `127.0.0.1:5005${id}` }));
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => ({
      id: p,
      replicas: p === 3 ? [6, 4, 5] : replicasOf(p),
    }));
    state = reduce(state, { type: "members", at: T0 + 2000, members, partitions });
    expect(state.members).toEqual([1, 2, 3, 4, 5, 6]);
    expect(state.nodes.map((n) => [n.id, n.state])).toEqual([
      [1, "UP"],
      [2, "UP"],
      [3, "UP"],
      [4, "UP"],
      [5, "UP"],
      [6, "UNREACHABLE"],
    ]);
    expect(state.partitions[3]?.replicas).toEqual([6, 4, 5]);
    // The leaders resolved before stay: the change moved replicas, not leaderships.
    expect(state.partitions.map((p) => p.leader)).toEqual([...firstLeaders().values()]);
    state = reduce(state, { type: "status", at: T0 + 2500, status: { ...status(6), groups: [] } });
    expect(state.nodes[5]).toMatchObject({ id: 6, state: "UP", since: T0 + 2500 });
    expect(state.events.map((e) => e.text)).toEqual(["node 6 joined the cluster (127.0.0.1:50056)"]);
  });

  it("keeps a removed node until it is gone, then drops it; a member's failure is no departure", () => {
    let state = healthyState();
    const members = [1, 2, 4, 5].map((id) => ({ id, address: `127.0.0.1:5005${id}` }));
    state = reduce(state, { type: "members", at: T0 + 2000, members, partitions: undefined });
    expect(state.members).toEqual([1, 2, 4, 5]);
    // Still handing its replicas over: shown, and its leaderships count.
    expect(state.nodes.map((n) => n.id)).toEqual(NODES);
    expect(state.partitions[2]?.leader).toBe(3);
    // A member's watcher never reports "gone"; if it did, nothing would change.
    expect(reduce(state, { type: "gone", at: T0 + 2500, node: 2 })).toBe(state);
    state = reduce(state, { type: "gone", at: T0 + 3000, node: 3 });
    expect(state.nodes.map((n) => n.id)).toEqual([1, 2, 4, 5]);
    expect(state.partitions[2]?.leader).toBe(0);
    expect(state.figures.opsPerSecond).toBeCloseTo(4 * 200);
    expect(state.events.map((e) => e.text)).toEqual([
      "node 3 was removed from the cluster: its replicas move to the other nodes",
      "node 3 left the cluster",
    ]);
  });
});
