/**
 * Latency histograms (HDR, microsecond resolution, 3 significant digits, up to 10 minutes):
 * one per operation type, merged across workers.
 */

import { build, type Histogram } from "hdr-histogram-js";

const HIGHEST_US = 600_000_000;

export function latencyHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Records a latency in milliseconds (fractional) as whole microseconds, clamped to the range. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  // A percentile is reported as its bucket's highest value, which can exceed the exact maximum.
  const at = (p: number) =>
    histogram.totalCount === 0 ? 0 : Math.min(histogram.getValueAtPercentile(p), histogram.maxValue) / 1000;
  return {
    count: histogram.totalCount,
    meanMs: histogram.totalCount === 0 ? 0 : histogram.mean / 1000,
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: histogram.totalCount === 0 ? 0 : histogram.maxValue / 1000,
  };
}
