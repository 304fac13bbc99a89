/**
 * Runs a range of seeds over worker threads, handing out small batches to whichever worker is
 * free, so that a slow seed does not leave a core idle. The workers run TypeScript: tsx
 * registers its loader in the main thread only, and on Node 20 a worker started with
 * `--import tsx` still cannot load .ts files, so each worker starts from a two-line script that
 * registers tsx's loader through its API and then imports worker.ts.
 */
import { Worker } from "node:worker_threads";
import type { BatchJob, BatchResult } from "./batch.js";
import { addStats, emptyStats } from "./stats.js";

const BATCH = 20;

export async function runPool(
  job: BatchJob,
  workers: number,
  onBatch: (result: BatchResult) => void,
): Promise<BatchResult> {
  const total: { seeds: number; violations: BatchResult["violations"][number][]; busyMs: number } = {
    seeds: 0,
    violations: [],
    busyMs: 0,
  };
  const stats = emptyStats();
  let next = job.from;
  const end = job.from + job.count;
  const worker = new URL("./worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(worker)}); });`;

  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(bootstrap, { eval: true });
      const dispatch = (): void => {
        if (next >= end) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const batch: BatchJob = { ...job, from: next, count: Math.min(BATCH, end - next) };
        next += batch.count;
        worker.postMessage(batch);
      };
      worker.on("message", (result: BatchResult) => {
        total.seeds += result.seeds;
        total.violations.push(...result.violations);
        total.busyMs += result.busyMs;
        addStats(stats, result.stats);
        onBatch(result);
        dispatch();
      });
      worker.on("error", reject);
      dispatch();
    });

  await Promise.all(Array.from({ length: Math.max(1, workers) }, runWorker));
  total.violations.sort((a, b) => a.seed - b.seed);
  return { ...total, stats };
}
