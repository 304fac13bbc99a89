/**
 * The load generator: `clients` concurrent callers against a Target, each picking an operation
 * from the mix and a key uniformly from `keys` keys.
 *
 * Closed loop (default): every client issues its next operation when the previous one answers;
 * latency is the call's own duration. Open loop (`rate`): operations are due at a fixed rate
 * (schedule.ts) and at most `clients` are in flight; an operation that waits for a free slot
 * counts that wait in its latency, measured from its intended start.
 */

import type { Histogram } from "hdr-histogram-js";
import { latencyHistogram, recordMs } from "./histogram.js";
import { type Mix, type Operation, pickOperation } from "./mix.js";
import { intendedStartMs, waitUntilDueMs } from "./schedule.js";
import type { Target } from "./target.js";

export interface LoadOptions {
  readonly clients: number;
  /** Stop after this many operations (one of ops and durationMs). */
  readonly ops?: number;
  /** Stop issuing after this long. */
  readonly durationMs?: number;
  readonly valueSize: number;
  readonly keys: number;
  readonly mix: Mix;
  /** Operations per second, open loop; closed loop when absent. */
  readonly rate?: number;
  /** Called about every `progressEveryMs` while the load runs. */
  readonly onProgress?: (progress: Progress) => void;
  readonly progressEveryMs?: number;
}

export interface Progress {
  readonly done: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** 0..1 of the ops or the duration. */
  readonly fraction: number;
}

export interface LoadResult {
  readonly elapsedMs: number;
  readonly histograms: ReadonlyMap<Operation, Histogram>;
  readonly errorsByOperation: ReadonlyMap<Operation, number>;
  readonly errorsByCode: ReadonlyMap<string, number>;
  /** CPU time this process used during the load, in ms (user + system). */
  readonly cpuMs: number;
}

/** The benchmark's key for index `n` (fixed width so keys sort like their indexes). */
export function benchKey(n: number): Uint8Array {
  return new TextEncoder().encode(`bench-${String(n).padStart(8, "0")}`);
}

export async function runLoad(target: Target, options: LoadOptions): Promise<LoadResult> {
  if (options.ops === undefined && options.durationMs === undefined) {
    throw new RangeError("a load needs ops or durationMs");
  }
  const keys = Array.from({ length: options.keys }, (_, n) => benchKey(n));
  const value = new Uint8Array(options.valueSize).fill(0x61);
  const histograms = new Map<Operation, Histogram>(
    options.mix.operations.map((op) => [op, latencyHistogram()]),
  );
  const errorsByOperation = new Map<Operation, number>();
  const errorsByCode = new Map<string, number>();
  let issued = 0;
  let done = 0;
  let errors = 0;

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  const finished = () =>
    (options.ops !== undefined && issued >= options.ops) ||
    (options.durationMs !== undefined && elapsed() >= options.durationMs);

  /** Runs one operation; latency counts from `intendedStart` (performance.now() time). */
  const one = async (intendedStart: number): Promise<void> => {
    const op = pickOperation(options.mix, Math.random());
    const key = keys[Math.floor(Math.random() * keys.length)] as Uint8Array;
    try {
      if (op === "put") await target.put(key, value);
      else if (op === "get") await target.get(key);
      else await target.delete(key);
      recordMs(histograms.get(op) as Histogram, performance.now() - intendedStart);
    } catch (error) {
      errors++;
      errorsByOperation.set(op, (errorsByOperation.get(op) ?? 0) + 1);
      const code = target.errorCode(error);
      errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + 1);
    }
    done++;
  };

  const fraction = () => {
    const byOps = options.ops === undefined ? 0 : done / options.ops;
    const byTime = options.durationMs === undefined ? 0 : elapsed() / options.durationMs;
    return Math.min(1, Math.max(byOps, byTime));
  };
  const progress = options.onProgress;
  const progressTimer =
    progress &&
    setInterval(
      () => progress({ done, errors, elapsedMs: elapsed(), fraction: fraction() }),
      options.progressEveryMs ?? 200,
    );

  try {
    const rate = options.rate;
    if (rate === undefined) {
      const client = async () => {
        while (!finished()) {
          issued++;
          await one(performance.now());
        }
      };
      await Promise.all(Array.from({ length: options.clients }, client));
    } else {
      // Open loop: a shared queue of due operations, served by `clients` slots.
      const slot = async () => {
        while (!finished()) {
          const index = issued++;
          const wait = waitUntilDueMs(index, elapsed(), rate);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (options.durationMs !== undefined && intendedStartMs(index, rate) >= options.durationMs) break;
          await one(start + intendedStartMs(index, rate));
        }
      };
      await Promise.all(Array.from({ length: options.clients }, slot));
    }
  } finally {
    if (progressTimer) clearInterval(progressTimer);
  }
  const elapsedMs = elapsed();
  const cpu = process.cpuUsage(cpuStart);
  progress?.({ done, errors, elapsedMs, fraction: 1 });
  return {
    elapsedMs,
    histograms,
    errorsByOperation,
    errorsByCode,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}
