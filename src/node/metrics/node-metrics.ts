/**
 * The node's Prometheus metrics (prom-client), in a registry of its own: request counts and
 * latency histograms by operation, and per partition the Raft term, leader, commit/applied/last
 * index, leader changes and snapshots; the peer transport's counters (transport-metrics.ts).
 * Everything but the latency histogram is read from the store, the op stats and the transport
 * when scraped, so the request path pays only for one observe().
 */

import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { GroupStatus } from "../store/status.js";
import type { TransportStats } from "../transport/peer-transport.js";
import { oncePerScrape, perItem } from "./scraped.js";
import { registerTransportMetrics } from "./transport-metrics.js";

/** Where the figures come from when Prometheus scrapes. */
export interface MetricsSources {
  readonly node: number;
  groups(): readonly GroupStatus[];
  /** Operations completed since start, by operation. */
  readonly totals: { readonly put: () => number; readonly get: () => number };
  transport(): TransportStats;
}

export type Operation = "put" | "get";

/** Seconds: from a fast local read to a write that waited out an election. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface NodeMetrics {
  readonly registry: Registry;
  /** Records one client request's latency; called on the request path. */
  observe(op: Operation, latencyMs: number): void;
}

export function createNodeMetrics(sources: MetricsSources): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: String(sources.node) });
  collectDefaultMetrics({ register: registry });

  const groups = oncePerScrape(() => sources.groups());
  const perPartition = perItem(registry, "partition", groups, (g) => String(g.partition));

  const latency = new Histogram({
    name: "tinyo_request_duration_seconds",
    help: "Latency of the client requests this node served as entry point, by operation.",
    labelNames: ["op"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const putLatency = latency.labels({ op: "put" });
  const getLatency = latency.labels({ op: "get" });
  new Counter({
    name: "tinyo_requests_total",
    help: "Client requests this node served as entry point (puts and deletes; gets and scans).",
    labelNames: ["op"] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ op: "put" }, sources.totals.put());
      this.inc({ op: "get" }, sources.totals.get());
    },
  });
  perPartition(
    "tinyo_raft_term",
    "The current Raft term of this node's member of the partition.",
    "gauge",
    (g) => g.term,
  );
  perPartition(
    "tinyo_raft_leader",
    "The leader this member knows of (node id; 0 when none).",
    "gauge",
    (g) => g.leader,
  );
  perPartition("tinyo_raft_is_leader", "1 when this node leads the partition.", "gauge", (g) =>
    g.role === "leader" ? 1 : 0,
  );
  perPartition(
    "tinyo_raft_commit_index",
    "The highest log index known committed.",
    "gauge",
    (g) => g.commitIndex,
  );
  perPartition(
    "tinyo_raft_applied_index",
    "The highest log index applied here.",
    "gauge",
    (g) => g.appliedIndex,
  );
  perPartition(
    "tinyo_raft_last_index",
    "The index of the last entry in this member's log.",
    "gauge",
    (g) => g.lastIndex,
  );
  perPartition(
    "tinyo_raft_leader_changes_total",
    "New leaders this member learned of since the node started.",
    "counter",
    (g) => g.leaderChanges,
  );
  perPartition(
    "tinyo_snapshots_sent_total",
    "Snapshots this node, as leader, streamed to a follower and saw acknowledged.",
    "counter",
    (g) => g.snapshotsSent,
  );
  perPartition(
    "tinyo_snapshots_installed_total",
    "Snapshots this node installed from the partition's leader.",
    "counter",
    (g) => g.snapshotsInstalled,
  );

  registerTransportMetrics(registry, () => sources.transport());

  return {
    registry,
    observe(op, latencyMs) {
      (op === "put" ? putLatency : getLatency).observe(latencyMs / 1000);
    },
  };
}
