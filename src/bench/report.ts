/** The result of a benchmark run: per-operation throughput and latency, errors, the generator's CPU. */

import type { Histogram } from "hdr-histogram-js";
import { type LatencySummary, summarize } from "./histogram.js";
import type { LoadResult } from "./load.js";
import type { Operation } from "./mix.js";

export interface OperationReport extends LatencySummary {
  readonly operation: Operation;
  readonly errors: number;
  /** Successful operations per second. */
  readonly throughput: number;
}

export interface BenchReport {
  readonly elapsedMs: number;
  /** Successful operations per second, all types. */
  readonly throughput: number;
  readonly operations: readonly OperationReport[];
  readonly errors: Readonly<Record<string, number>>;
  /** The load generator's own CPU use: 100 = one core busy the whole run. */
  readonly generatorCpuPercent: number;
}

export function buildReport(result: LoadResult): BenchReport {
  const seconds = result.elapsedMs / 1000;
  const operations = [...result.histograms].map(([operation, histogram]: [Operation, Histogram]) => {
    const summary = summarize(histogram);
    return {
      operation,
      ...summary,
      errors: result.errorsByOperation.get(operation) ?? 0,
      throughput: seconds > 0 ? summary.count / seconds : 0,
    };
  });
  const total = operations.reduce((sum, op) => sum + op.count, 0);
  return {
    elapsedMs: result.elapsedMs,
    throughput: seconds > 0 ? total / seconds : 0,
    operations,
    errors: Object.fromEntries(result.errorsByCode),
    generatorCpuPercent: result.elapsedMs > 0 ? (100 * result.cpuMs) / result.elapsedMs : 0,
  };
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The report as a text table (what `tinyo bench` prints without --json). */
export function formatReport(report: BenchReport): string {
  const header = ["op", "ok", "errors", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"];
  const rows = report.operations.map((op) => [
    op.operation,
    String(op.count),
    String(op.errors),
    op.throughput.toFixed(0),
    ms(op.p50Ms),
    ms(op.p90Ms),
    ms(op.p99Ms),
    ms(op.p999Ms),
    ms(op.maxMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join("  ");
  const errors = Object.entries(report.errors);
  return [
    line(header),
    ...rows.map(line),
    "",
    `${report.throughput.toFixed(0)} ops/s in ${(report.elapsedMs / 1000).toFixed(1)} s; ` +
      `load generator CPU ${report.generatorCpuPercent.toFixed(0)}% of one core`,
    errors.length === 0 ? "errors: none" : `errors: ${errors.map(([code, n]) => `${code} ${n}`).join(", ")}`,
  ].join("\n");
}
