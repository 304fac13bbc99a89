/**
 * Prometheus metrics from real node processes: each node serves GET /metrics over plain HTTP/1.1
 * on its --metrics-listen port, with the request counts and latency histograms of what it served,
 * and per partition the Raft term, leader, indexes, leader changes and snapshots, and the peer
 * transport's counters. Admin Status carries the same figures for the dashboard (pid, totals, a
 * mergeable latency histogram, the transport's counters).
 */

import { decodeFromCompressedBase64 } from "hdr-histogram-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { TestCluster } from "./harness.js";

const PARTITIONS = 8;

/**
 * The samples of a Prometheus text exposition: `name{labels}` -> value, with the labels sorted
 * by name (the order on the wire is the library's choice).
 */
function samples(text: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    const sample = line.slice(0, cut);
    const brace = sample.indexOf("{");
    const key =
      brace < 0
        ? sample
        : `${sample.slice(0, brace)}{${sample
            .slice(brace + 1, -1)
            .split(",")
            .sort()
            .join(",")}}`;
    result.set(key, Number(line.slice(cut + 1)));
  }
  return result;
}

describe("a node's /metrics endpoint", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 20, metrics: true });
    cluster.startAll();
    await cluster.waitForLeaders(30_000);
  }, 40_000);

  afterAll(async () => {
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  });

  it("serves requests, latency histograms, terms, leaders, indexes and snapshot counters", async () => {
    const node = cluster.node(1);
    const client = new TinyoClient({ endpoints: [node.address], partitions: PARTITIONS });
    try {
      for (let i = 0; i < 20; i++) await client.put(`metrics:${i}`, `v${i}`);
      for (let i = 0; i < 10; i++) await client.get(`metrics:${i}`);
    } finally {
      client.close();
    }
    const response = await fetch(`http://${node.metricsAddress}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const m = samples(await response.text());

    // Node 1 was the entry point of every request (the client knows no other endpoint at first,
    // and learns leaders from answers; forwarded requests are not counted twice).
    const puts = m.get('tinyo_requests_total{node="1",op="put"}') ?? 0;
    const gets = m.get('tinyo_requests_total{node="1",op="get"}') ?? 0;
    expect(puts + gets).toBeGreaterThan(0);
    expect(m.get('tinyo_request_duration_seconds_count{node="1",op="put"}')).toBe(puts);
    expect(m.get('tinyo_request_duration_seconds_bucket{le="+Inf",node="1",op="put"}')).toBe(puts);

    const status = await cluster.status(1);
    for (const g of status.groups) {
      const p = `node="1",partition="${g.partition}"`;
      expect(m.get(`tinyo_raft_term{${p}}`)).toBeGreaterThanOrEqual(1);
      expect(m.get(`tinyo_raft_leader{${p}}`)).toBeGreaterThan(0);
      expect(m.get(`tinyo_raft_commit_index{${p}}`)).toBeGreaterThanOrEqual(1);
      expect(m.has(`tinyo_raft_applied_index{${p}}`)).toBe(true);
      expect(m.has(`tinyo_raft_is_leader{${p}}`)).toBe(true);
      expect(m.get(`tinyo_raft_leader_changes_total{${p}}`)).toBeGreaterThanOrEqual(1);
      expect(m.get(`tinyo_snapshots_sent_total{${p}}`)).toBe(0);
      expect(m.get(`tinyo_snapshots_installed_total{${p}}`)).toBe(0);
    }
    expect(m.has('process_cpu_seconds_total{node="1"}')).toBe(true);

    // Every partition has exactly one leader across the three nodes' metrics.
    let leaders = 0;
    for (const n of cluster.nodes) {
      const text = await (await fetch(`http://${n.metricsAddress}/metrics`)).text();
      for (const [name, value] of samples(text))
        if (name.startsWith("tinyo_raft_is_leader{")) leaders += value;
    }
    expect(leaders).toBe(PARTITIONS);

    // Admin Status: the same node, with its pid, metrics address and mergeable latency histogram.
    expect(status.pid).toBe(node.process?.pid);
    expect(status.metricsAddress).toBe(node.metricsAddress);
    expect(Number(status.puts?.total)).toBe(puts);
    // The histogram covers the last 5 s only: on a loaded machine the puts may be older than that.
    const window = decodeFromCompressedBase64(status.puts?.latencyHistogram ?? "");
    expect(window.totalCount).toBeLessThanOrEqual(puts);
  });

  it("exposes the peer transport's counters in /metrics and in Admin status, moving with traffic", async () => {
    const node = cluster.node(2);
    const scrape = async () => samples(await (await fetch(`http://${node.metricsAddress}/metrics`)).text());
    const transport = async () => {
      const t = (await cluster.status(2)).transport;
      if (!t) throw new Error("node 2's status has no transport figures");
      return t;
    };
    const [m0, t0] = [await scrape(), await transport()];
    const client = new TinyoClient({ endpoints: cluster.endpoints, partitions: PARTITIONS });
    try {
      for (let i = 0; i < 30; i++) await client.put(`transport:${i}`, `v${i}`);
    } finally {
      client.close();
    }
    const [m1, t1] = [await scrape(), await transport()];

    for (const name of [
      "tinyo_transport_sent_batches_total",
      "tinyo_transport_sent_messages_total",
      "tinyo_transport_received_batches_total",
      "tinyo_transport_received_messages_total",
    ]) {
      const key = `${name}{node="2"}`;
      expect(m1.get(key), key).toBeGreaterThan(m0.get(key) ?? Number.POSITIVE_INFINITY);
    }
    expect(t1.sentMessages).toBeGreaterThan(t0.sentMessages);
    expect(t1.receivedMessages).toBeGreaterThan(t0.receivedMessages);
    expect(t1.sentBatches).toBeGreaterThan(t0.sentBatches);
    // Status and a scrape read the same counters: a scrape taken after the status shows as many.
    expect(m1.get('tinyo_transport_sent_messages_total{node="2"}')).toBeLessThanOrEqual(
      Number((await transport()).sentMessages),
    );
    expect(t1.rejectedBatches).toBe(0n);
    for (const reason of ["overflow", "failed_stream", "fault", "unroutable", "inbound_fault"])
      expect(m1.has(`tinyo_transport_dropped_messages_total{node="2",reason="${reason}"}`)).toBe(true);

    // One link per peer, each with messages sent.
    expect(t1.peers.map((p) => p.peer).sort()).toEqual([1, 3]);
    for (const peer of [1, 3]) {
      const key = `tinyo_transport_peer_sent_messages_total{node="2",peer="${peer}"}`;
      expect(m1.get(key), key).toBeGreaterThan(m0.get(key) ?? Number.POSITIVE_INFINITY);
      expect(m1.has(`tinyo_transport_peer_queued_messages{node="2",peer="${peer}"}`)).toBe(true);
      expect(t1.peers.find((p) => p.peer === peer)?.address).toBe(cluster.node(peer).address);
    }
  });

  it("answers anything but GET /metrics with a 404 or 405", async () => {
    const base = `http://${cluster.node(2).metricsAddress}`;
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
