/**
 * Open-loop scheduling: operation i (from 0) is due `i / rate` seconds after the start, whether
 * or not earlier ones have finished, and its latency counts from that intended start. A slow
 * answer therefore shows in every operation that had to wait behind it, rather than silently
 * lowering the offered load (coordinated omission).
 */

/** Milliseconds after the start at which operation `index` is due. */
export function intendedStartMs(index: number, ratePerSecond: number): number {
  return (index * 1000) / ratePerSecond;
}

/** Milliseconds from `elapsedMs` until operation `index` is due (0 when it already is). */
export function waitUntilDueMs(index: number, elapsedMs: number, ratePerSecond: number): number {
  return Math.max(0, intendedStartMs(index, ratePerSecond) - elapsedMs);
}
