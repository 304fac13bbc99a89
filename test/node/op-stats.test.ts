import { decodeFromCompressedBase64 } from "hdr-histogram-js";
import { describe, expect, it } from "vitest";
import { MAX_LATENCY_US, OpStats } from "../../src/node/service/op-stats.js";

describe("OpStats", () => {
  it("summarises the last five seconds: rate, percentiles, a mergeable histogram", () => {
    const now = 10_000;
    const seen: number[] = [];
    const stats = new OpStats(
      () => now,
      (ms) => seen.push(ms),
    );
    for (let i = 1; i <= 100; i++) stats.record(i); // 1..100 ms
    const s = stats.summary();
    expect(s.total).toBe(100);
    expect(s.opsPerSecond).toBeCloseTo(100 / 5, 5); // at the start of a second: a 5 s window
    expect(s.p50Ms).toBeGreaterThanOrEqual(49.5);
    expect(s.p50Ms).toBeLessThanOrEqual(50.5);
    expect(s.p99Ms).toBeGreaterThanOrEqual(98.5);
    expect(s.p99Ms).toBeLessThanOrEqual(99.5);
    expect(decodeFromCompressedBase64(s.histogram).totalCount).toBe(100);
    expect(seen).toHaveLength(100);
  });

  it("forgets what is older than the window, but keeps the total", () => {
    let now = 0;
    const stats = new OpStats(() => now);
    stats.record(1000);
    now = 3_000;
    stats.record(2);
    expect(stats.summary().p99Ms).toBeGreaterThan(900);
    now = 6_500;
    const later = stats.summary();
    expect(later.p99Ms).toBeLessThan(3);
    expect(later.total).toBe(2);
    now = 20_000;
    expect(stats.summary()).toMatchObject({ opsPerSecond: 0, p50Ms: 0, p99Ms: 0, total: 2 });
  });

  it("times an operation from start() to its completion and caps absurd latencies", () => {
    let now = 100;
    const stats = new OpStats(() => now);
    const done = stats.start();
    now = 107;
    done();
    expect(stats.summary().p50Ms).toBeCloseTo(7, 1);
    stats.record(10 * MAX_LATENCY_US);
    expect(stats.summary().p99Ms).toBeLessThanOrEqual((MAX_LATENCY_US / 1000) * 1.01);
  });
});
