/**
 * The chaos command's flags, checked: each a one-line error naming the limit.
 */

import { Consistency } from "../client/index.js";
import { NEMESIS_KINDS, type NemesisKind } from "./nemesis.js";

export class ChaosUsageError extends Error {
  override name = "ChaosUsageError";
}

export const LIMITS = {
  durationMs: [1000, 24 * 3600 * 1000],
  clients: [1, 100],
  keys: [1, 1000],
  nodes: [3, 9],
  partitions: [1, 256],
} as const;

/** "60s", "2m", "1500ms", "1h", or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new ChaosUsageError(`--duration ${text}: write it as 60s, 2m, 1h or 1500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Math.round(Number(match[1]) * unit);
  const [lo, hi] = LIMITS.durationMs;
  if (ms < lo || ms > hi) throw new ChaosUsageError(`--duration ${text}: it must be from 1s to 24h`);
  return ms;
}

/** "kill,pause,partition,membership", any subset; "none" for no faults. */
export function parseNemesis(text: string): NemesisKind[] {
  if (text.trim() === "none") return [];
  const kinds = text.split(",").map((s) => s.trim());
  for (const kind of kinds) {
    if (!(NEMESIS_KINDS as readonly string[]).includes(kind)) {
      throw new ChaosUsageError(
        `--nemesis ${text}: "${kind}" is not one of ${NEMESIS_KINDS.join(", ")} (or none)`,
      );
    }
  }
  return [...new Set(kinds as NemesisKind[])];
}

export function parseConsistency(text: string): Consistency {
  switch (text) {
    case "linearizable":
      return Consistency.LINEARIZABLE;
    case "lease":
      return Consistency.LEASE;
    case "stale":
      return Consistency.STALE;
    default:
      throw new ChaosUsageError(`--consistency ${text}: it must be linearizable, lease or stale`);
  }
}

export function parseCount(flag: keyof typeof LIMITS, text: string): number {
  const [lo, hi] = LIMITS[flag];
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < lo || n > hi) {
    throw new ChaosUsageError(`--${flag} ${text}: it must be a whole number from ${lo} to ${hi}`);
  }
  return n;
}

export function parseSeed(text: string | undefined): number {
  if (text === undefined) return Math.floor(Math.random() * 2 ** 31);
  if (!/^\d+$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER) {
    throw new ChaosUsageError(
      `--seed ${text}: it must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return Number(text);
}
