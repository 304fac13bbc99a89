import { describe, expect, it } from "vitest";
import { BenchOptionError, parseBenchFlags, parseDuration } from "../../src/bench/options.js";

const base = {
  clients: "50",
  valueSize: "100",
  keys: "10000",
  mix: "put=50,get=50",
  consistency: "linearizable",
};

describe("bench flags", () => {
  it("defaults to 10,000 operations, closed loop", () => {
    const o = parseBenchFlags(base);
    expect(o.ops).toBe(10_000);
    expect(o.durationMs).toBeUndefined();
    expect(o.rate).toBeUndefined();
  });

  it("parses durations", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1.5")).toBe(1500);
    expect(parseBenchFlags({ ...base, duration: "10s" }).ops).toBeUndefined();
  });

  it.each([
    [{ ops: "10", duration: "1s" }, "not both"],
    [{ clients: "0" }, "--clients must be between 1 and 10000"],
    [{ clients: "x" }, "--clients must be a whole number"],
    [{ valueSize: "2000000" }, "--value-size must be between 1 and 1048576"],
    [{ keys: "0" }, "--keys must be between 1"],
    [{ mix: "put=1,scan=1" }, '--mix: unknown operation "scan"'],
    [{ consistency: "strong" }, "--consistency must be linearizable, lease or stale"],
    [{ rate: "0" }, "--rate must be"],
    [{ rate: "fast" }, "--rate must be"],
    [{ duration: "forever" }, 'bad duration "forever"'],
    [{ duration: "25h" }, "between 1ms and 24h"],
  ])("refuses %j", (flags, message) => {
    expect(() => parseBenchFlags({ ...base, ...flags })).toThrow(BenchOptionError);
    expect(() => parseBenchFlags({ ...base, ...flags })).toThrow(message);
  });
});
