import { describe, expect, it } from "vitest";
import { latencyHistogram, recordMs, summarize } from "../../src/bench/histogram.js";

describe("latency histograms", () => {
  it("reports percentiles of recorded milliseconds within HDR's 3 significant digits", () => {
    const h = latencyHistogram();
    for (let i = 1; i <= 1000; i++) recordMs(h, i / 10); // 0.1 .. 100 ms
    const s = summarize(h);
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeCloseTo(50, 0);
    expect(s.p90Ms).toBeCloseTo(90, 0);
    expect(s.p99Ms).toBeCloseTo(99, 0);
    expect(s.p999Ms).toBeCloseTo(99.9, 0);
    expect(s.maxMs).toBeCloseTo(100, 0);
    expect(s.meanMs).toBeCloseTo(50.05, 0);
  });

  it("clamps what lies outside its range instead of failing", () => {
    const h = latencyHistogram();
    recordMs(h, 0);
    recordMs(h, 10 * 60_000 + 1);
    const s = summarize(h);
    expect(s.count).toBe(2);
    expect(s.p50Ms).toBe(0.001);
    expect(s.maxMs).toBeCloseTo(600_000, -3);
  });

  it("never reports a percentile above the exact maximum", () => {
    const h = latencyHistogram();
    for (let i = 0; i < 99; i++) recordMs(h, 1);
    recordMs(h, 388.282);
    const s = summarize(h);
    expect(s.maxMs).toBeCloseTo(388.282, 2);
    expect(s.p999Ms).toBeLessThanOrEqual(s.maxMs);
    expect(s.p99Ms).toBeLessThanOrEqual(s.maxMs);
  });

  it("summarizes an empty histogram as zeros", () => {
    expect(summarize(latencyHistogram())).toEqual({
      count: 0,
      meanMs: 0,
      p50Ms: 0,
      p90Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      maxMs: 0,
    });
  });
});
