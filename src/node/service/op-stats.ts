/**
 * Throughput and latency of one kind of operation over the last few seconds (admin.proto's
 * OpStats): a ring of the most recent samples, summarised on demand. Recording is O(1); a
 * summary sorts at most CAPACITY latencies, which is cheap at the dashboard's few calls a second.
 */

const WINDOW_MS = 5000;
const CAPACITY = 16_384;

export interface OpSummary {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export class OpStats {
  private readonly at = new Float64Array(CAPACITY);
  private readonly latency = new Float64Array(CAPACITY);
  private next = 0;
  private count = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts timing one operation; call the result when it completes. */
  start(): () => void {
    const began = this.now();
    return () => this.record(this.now() - began);
  }

  record(latencyMs: number): void {
    this.at[this.next] = this.now();
    this.latency[this.next] = latencyMs;
    this.next = (this.next + 1) % CAPACITY;
    this.count = Math.min(this.count + 1, CAPACITY);
  }

  summary(): OpSummary {
    const now = this.now();
    const recent: number[] = [];
    let oldest = now;
    for (let i = 0; i < this.count; i++) {
      const t = this.at[i] as number;
      if (now - t > WINDOW_MS) continue;
      recent.push(this.latency[i] as number);
      oldest = Math.min(oldest, t);
    }
    if (recent.length === 0) return { opsPerSecond: 0, p50Ms: 0, p99Ms: 0 };
    recent.sort((a, b) => a - b);
    // A full ring may hold less than the window: divide by the time the samples span.
    const spanMs = this.count === CAPACITY ? Math.max(now - oldest, 1) : WINDOW_MS;
    const pick = (q: number): number =>
      recent[Math.min(recent.length - 1, Math.floor(q * recent.length))] as number;
    return { opsPerSecond: (recent.length * 1000) / spanMs, p50Ms: pick(0.5), p99Ms: pick(0.99) };
  }
}
