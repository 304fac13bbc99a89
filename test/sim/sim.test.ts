/**
 * The real Raft core under the simulator: a few hundred seeds of each cluster size must run
 * without a single violation. `npm run sim -- --seeds 10000` runs many more.
 */
import { describe, expect, it } from "vitest";
import { describeViolation, runSeed, type Violation } from "./simulation.js";

const SEEDS = 150;

function firstViolation(nodes: 3 | 5): Violation | undefined {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { violation } = runSeed(seed, { nodes });
    if (violation) return violation;
  }
  return undefined;
}

describe("simulation of the real core", () => {
  for (const nodes of [3, 5] as const) {
    it(`${SEEDS} seeds with ${nodes} initial voters keep every safety and liveness property`, () => {
      const violation = firstViolation(nodes);
      expect(violation === undefined ? "no violation" : describeViolation(violation)).toBe("no violation");
    }, 120_000);
  }

  it("replays a seed exactly", () => {
    const a = runSeed(42, { nodes: 5 });
    const b = runSeed(42, { nodes: 5 });
    expect(b.stats).toEqual(a.stats);
    expect(a.stats.acknowledged).toBeGreaterThan(0);
  });
});
