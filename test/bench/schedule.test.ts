import { describe, expect, it } from "vitest";
import { intendedStartMs, waitUntilDueMs } from "../../src/bench/schedule.js";

describe("open-loop schedule", () => {
  it("spaces operations evenly at the rate", () => {
    expect(intendedStartMs(0, 100)).toBe(0);
    expect(intendedStartMs(1, 100)).toBe(10);
    expect(intendedStartMs(250, 100)).toBe(2500);
    expect(intendedStartMs(3, 0.5)).toBe(6000);
  });

  it("waits only for operations not yet due: a late one starts at once, its latency from its intended start", () => {
    expect(waitUntilDueMs(5, 20, 100)).toBe(30);
    expect(waitUntilDueMs(5, 50, 100)).toBe(0);
    expect(waitUntilDueMs(5, 80, 100)).toBe(0);
  });
});
