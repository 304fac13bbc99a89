import { describe, expect, it } from "vitest";
import { benchKey, runLoad } from "../../src/bench/load.js";
import { parseMix } from "../../src/bench/mix.js";
import type { Target } from "../../src/bench/target.js";

/** An in-process key-value map: the load generator's own logic is under test here, not a store. */
class MapTarget implements Target {
  readonly data = new Map<string, Uint8Array>();
  calls = 0;
  async put(key: Uint8Array, value: Uint8Array) {
    this.calls++;
    this.data.set(Buffer.from(key).toString(), value);
  }
  async get(key: Uint8Array) {
    this.calls++;
    if (Buffer.from(key).toString().endsWith("7")) throw new Error("seven");
  }
  async delete(key: Uint8Array) {
    this.calls++;
    this.data.delete(Buffer.from(key).toString());
  }
  errorCode(error: unknown) {
    return error instanceof Error ? error.message : "unknown";
  }
  async close() {}
}

describe("runLoad", () => {
  it("runs exactly --ops operations across the clients and counts errors by operation and code", async () => {
    const target = new MapTarget();
    const result = await runLoad(target, {
      clients: 7,
      ops: 1000,
      valueSize: 10,
      keys: 10,
      mix: parseMix("put=1,get=1"),
    });
    expect(target.calls).toBe(1000);
    const puts = result.histograms.get("put")?.totalCount ?? 0;
    const gets = result.histograms.get("get")?.totalCount ?? 0;
    const getErrors = result.errorsByOperation.get("get") ?? 0;
    expect(puts + gets + getErrors).toBe(1000);
    expect(result.errorsByOperation.get("put")).toBeUndefined();
    expect(result.errorsByCode.get("seven")).toBe(getErrors);
    expect(getErrors).toBeGreaterThan(0);
    expect([...target.data.keys()].every((k) => /^bench-0000000\d$/.test(k))).toBe(true);
    expect(target.data.values().next().value).toEqual(new Uint8Array(10).fill(0x61));
  });

  it("in open loop issues the operations due and stops at the duration", async () => {
    const target = new MapTarget();
    const progress: number[] = [];
    const result = await runLoad(target, {
      clients: 4,
      durationMs: 200,
      rate: 100,
      valueSize: 1,
      keys: 5,
      mix: parseMix("put=1"),
      onProgress: (p) => progress.push(p.fraction),
      progressEveryMs: 50,
    });
    // Operations are due at 0, 10, ..., 190 ms: twenty of them, however late the timers fire.
    expect(target.calls).toBe(20);
    expect(result.histograms.get("put")?.totalCount).toBe(20);
    expect(progress.at(-1)).toBe(1);
  });

  it("keys are fixed-width, so that they sort like their indexes", () => {
    expect(Buffer.from(benchKey(42)).toString()).toBe("bench-00000042");
  });
});
