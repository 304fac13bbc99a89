/**
 * Throughput and latency of one kind of operation over the last few seconds (admin.proto's
 * OpStats), from HdrHistograms: one histogram per second of the window, recycled as the window
 * slides, so recording is O(1) in a fixed amount of memory whatever the rate. A summary merges
 * the window's histograms (a few times a second at most: the dashboard's pace).
 *
 * Latencies are recorded in microseconds, 1 µs to MAX_LATENCY_US with 2 significant digits (1%
 * resolution); a slower operation counts as MAX_LATENCY_US.
 */

import { build, encodeIntoCompressedBase64, type Histogram } from "hdr-histogram-js";

const SLOT_MS = 1000;
/** The window summaries cover: the last WINDOW_SLOTS whole seconds and the current one. */
const WINDOW_SLOTS = 5;
const WINDOW_MS = SLOT_MS * WINDOW_SLOTS;
export const MAX_LATENCY_US = 60_000_000;

export interface OpSummary {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Operations completed since the node started. */
  readonly total: number;
  /** The window's latencies (µs) as a compressed HdrHistogram, base64: mergeable across nodes. */
  readonly histogram: string;
}

/** The histogram settings every tinyo latency histogram shares (so that they merge exactly). */
export function newLatencyHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    numberOfSignificantValueDigits: 2,
  });
}

interface Slot {
  second: number;
  readonly histogram: Histogram;
}

export class OpStats {
  private readonly slots: Slot[] = Array.from({ length: WINDOW_SLOTS + 1 }, () => ({
    second: -1,
    histogram: newLatencyHistogram(),
  }));
  private completed = 0;

  /**
   * @param now milliseconds on a monotonic clock
   * @param onRecord also told every latency (ms): the node's Prometheus histogram
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly onRecord?: (latencyMs: number) => void,
  ) {}

  /** Starts timing one operation; call the result when it completes. */
  start(): () => void {
    const began = this.now();
    return () => this.record(this.now() - began);
  }

  record(latencyMs: number): void {
    const second = Math.floor(this.now() / SLOT_MS);
    const slot = this.slots[second % this.slots.length] as Slot;
    if (slot.second !== second) {
      slot.histogram.reset();
      slot.second = second;
    }
    slot.histogram.recordValue(Math.min(MAX_LATENCY_US, Math.max(1, Math.round(latencyMs * 1000))));
    this.completed++;
    this.onRecord?.(latencyMs);
  }

  /** Operations completed since the node started. */
  get total(): number {
    return this.completed;
  }

  summary(): OpSummary {
    const nowMs = this.now();
    const current = Math.floor(nowMs / SLOT_MS);
    const merged = newLatencyHistogram();
    for (const slot of this.slots) {
      if (slot.second > current - this.slots.length && slot.second <= current) merged.add(slot.histogram);
    }
    // The window: the WINDOW_SLOTS whole seconds before this one, and this one so far.
    const spanMs = WINDOW_MS + (nowMs - current * SLOT_MS);
    const count = merged.totalCount;
    const summary: OpSummary = {
      opsPerSecond: (count * 1000) / spanMs,
      p50Ms: count === 0 ? 0 : merged.getValueAtPercentile(50) / 1000,
      p99Ms: count === 0 ? 0 : merged.getValueAtPercentile(99) / 1000,
      total: this.completed,
      histogram: encodeIntoCompressedBase64(merged),
    };
    merged.destroy();
    return summary;
  }
}
