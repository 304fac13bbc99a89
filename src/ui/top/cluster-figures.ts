/**
 * Cluster-wide throughput and latency: the nodes' latency windows are HdrHistograms, so merging
 * them gives the exact cluster percentiles (averaging the nodes' percentiles would not).
 */

import { decodeFromCompressedBase64, type Histogram } from "hdr-histogram-js";
import type { ClusterFigures, NodeEntry, OpView, StatusView } from "./model.js";

export type Percentiles = { readonly p50Ms: number; readonly p99Ms: number };

function decode(encoded: string): Histogram | undefined {
  if (encoded === "") return undefined;
  try {
    return decodeFromCompressedBase64(encoded);
  } catch {
    return undefined; // a node on an older version, or garbage: leave it out of the merge
  }
}

/** Percentiles of the merged histograms; undefined when they recorded nothing. */
function merged(ops: readonly OpView[]): Percentiles | undefined {
  const histograms = ops.flatMap((o) => decode(o.histogram) ?? []);
  const [first, ...rest] = histograms;
  if (!first) return undefined;
  for (const h of rest) first.add(h);
  const result =
    first.totalCount === 0
      ? undefined
      : { p50Ms: first.getValueAtPercentile(50) / 1000, p99Ms: first.getValueAtPercentile(99) / 1000 };
  for (const h of histograms) h.destroy();
  return result;
}

/** One node's latency, puts and gets together. */
export function nodeLatency(status: StatusView): Percentiles | undefined {
  return merged([status.puts, status.gets]);
}

export function clusterFigures(nodes: readonly NodeEntry[]): ClusterFigures {
  const up = nodes.flatMap((n) => (n.state === "UP" && n.status ? [n.status] : []));
  const puts = up.map((s) => s.puts);
  const gets = up.map((s) => s.gets);
  return {
    opsPerSecond: [...puts, ...gets].reduce((sum, o) => sum + o.opsPerSecond, 0),
    puts: merged(puts),
    gets: merged(gets),
    allP99Ms: merged([...puts, ...gets])?.p99Ms,
  };
}
