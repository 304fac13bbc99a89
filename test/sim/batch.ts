/**
 * What one batch of seeds is and what it yields: shared by the pool, which hands batches to
 * worker threads, and by the worker, which runs them. Only plain data crosses the thread
 * boundary (structured clone), so the factory travels as a variant name.
 */
import { type RunOptions, runSeed, type Violation } from "./simulation.js";
import { addStats, emptyStats, type Stats } from "./stats.js";
import { isVariantName, type VariantName, variants } from "./variants.js";

export interface BatchJob {
  readonly from: number;
  readonly count: number;
  readonly nodes?: 3 | 5;
  /** A deliberately broken member instead of the real one. */
  readonly variant?: VariantName;
}

export interface BatchResult {
  readonly seeds: number;
  readonly violations: readonly Violation[];
  readonly stats: Stats;
  /** Time the running thread spent on this batch, in milliseconds. */
  readonly busyMs: number;
}

export function runBatch(job: BatchJob, verbose?: (line: string) => void): BatchResult {
  // Wall time of this thread's loop: process.cpuUsage() would add up all the workers.
  const started = performance.now();
  const options: RunOptions = {
    ...(job.nodes === undefined ? {} : { nodes: job.nodes }),
    ...(job.variant === undefined ? {} : { factory: variants[job.variant] }),
    ...(verbose === undefined ? {} : { verbose }),
  };
  const stats = emptyStats();
  const violations: Violation[] = [];
  for (let seed = job.from; seed < job.from + job.count; seed++) {
    const result = runSeed(seed, options);
    addStats(stats, result.stats);
    if (result.violation) violations.push(result.violation);
  }
  return { seeds: job.count, violations, stats, busyMs: performance.now() - started };
}

/** Validates a job that came over a thread boundary. */
export function isBatchJob(value: unknown): value is BatchJob {
  if (typeof value !== "object" || value === null) return false;
  const from: unknown = Reflect.get(value, "from");
  const count: unknown = Reflect.get(value, "count");
  const nodes: unknown = Reflect.get(value, "nodes");
  const variant: unknown = Reflect.get(value, "variant");
  return (
    typeof from === "number" &&
    typeof count === "number" &&
    (nodes === undefined || nodes === 3 || nodes === 5) &&
    (variant === undefined || (typeof variant === "string" && isVariantName(variant)))
  );
}
