/**
 * Metrics read when Prometheus scrapes rather than fed as things happen: a source read once per
 * scrape (shared by every metric of it), and families of one sample per item of a list (per
 * partition, per peer), reset and refilled on each collect.
 */

import { Counter, Gauge, type Registry } from "prom-client";

/** Scrapes within this many ms share one read of a source. */
const REUSE_MS = 100;

/** `read`, called at most once per REUSE_MS: one scrape reads its source once. */
export function oncePerScrape<T>(read: () => T): () => T {
  let cached: { at: number; value: T } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > REUSE_MS) cached = { at: now, value: read() };
    return cached.value;
  };
}

/** Registers metric families with one sample per item of `items()`, labelled `label`. */
export function perItem<L extends string, T>(
  registry: Registry,
  label: L,
  items: () => readonly T[],
  labelOf: (item: T) => string,
) {
  return (name: string, help: string, kind: "gauge" | "counter", value: (item: T) => number): void => {
    const collect = function (this: Gauge<L> | Counter<L>) {
      this.reset();
      for (const item of items()) this.inc({ [label]: labelOf(item) } as Record<L, string>, value(item));
    };
    const config = { name, help, labelNames: [label] as const, registers: [registry], collect };
    if (kind === "gauge") new Gauge(config);
    else new Counter(config);
  };
}
