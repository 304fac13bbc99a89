import { defineConfig } from "vitest/config";

/** Benchmarks: printed figures, never asserted speeds, and never part of `npm test`. */
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
  },
});
