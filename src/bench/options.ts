/** The flags of `tinyo bench`, checked: every size has a limit and a bad value one clear message. */

import { MAX_VALUE_BYTES } from "../node/storage/commands.js";
import { type Mix, MixError, parseMix } from "./mix.js";

export class BenchOptionError extends Error {}

export const LIMITS = {
  clients: 10_000,
  ops: 1_000_000_000,
  durationMs: 24 * 3600 * 1000,
  keys: 10_000_000,
  valueSize: MAX_VALUE_BYTES,
  rate: 1_000_000,
} as const;

export type ConsistencyName = "linearizable" | "lease" | "stale";

export interface BenchOptions {
  readonly clients: number;
  readonly ops: number | undefined;
  readonly durationMs: number | undefined;
  readonly valueSize: number;
  readonly keys: number;
  readonly mix: Mix;
  readonly mixText: string;
  readonly consistency: ConsistencyName;
  readonly rate: number | undefined;
}

export interface RawBenchFlags {
  readonly clients: string;
  readonly ops?: string;
  readonly duration?: string;
  readonly valueSize: string;
  readonly keys: string;
  readonly mix: string;
  readonly consistency: string;
  readonly rate?: string;
}

/** "30s", "2m", "500ms", "1h" or plain seconds ("30") in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new BenchOptionError(`bad duration "${text}": use e.g. 30s, 2m, 500ms`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Math.round(Number(match[1]) * unit);
  if (ms < 1 || ms > LIMITS.durationMs) throw new BenchOptionError(`--duration must be between 1ms and 24h`);
  return ms;
}

function integer(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()))
    throw new BenchOptionError(`--${name} must be a whole number, not "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new BenchOptionError(`--${name} must be between ${min} and ${max}`);
  return n;
}

export function parseBenchFlags(flags: RawBenchFlags): BenchOptions {
  if (flags.ops !== undefined && flags.duration !== undefined) {
    throw new BenchOptionError("give --ops or --duration, not both");
  }
  if (!["linearizable", "lease", "stale"].includes(flags.consistency)) {
    throw new BenchOptionError(
      `--consistency must be linearizable, lease or stale, not "${flags.consistency}"`,
    );
  }
  let mix: Mix;
  try {
    mix = parseMix(flags.mix);
  } catch (error) {
    throw new BenchOptionError(`--mix: ${error instanceof MixError ? error.message : String(error)}`);
  }
  let rate: number | undefined;
  if (flags.rate !== undefined) {
    rate = Number(flags.rate);
    if (!Number.isFinite(rate) || rate <= 0 || rate > LIMITS.rate) {
      throw new BenchOptionError(
        `--rate must be a number of operations per second above 0, at most ${LIMITS.rate}`,
      );
    }
  }
  const durationMs = flags.duration === undefined ? undefined : parseDuration(flags.duration);
  return {
    clients: integer("clients", flags.clients, 1, LIMITS.clients),
    ops: durationMs !== undefined ? undefined : integer("ops", flags.ops ?? "10000", 1, LIMITS.ops),
    durationMs,
    valueSize: integer("value-size", flags.valueSize, 1, LIMITS.valueSize),
    keys: integer("keys", flags.keys, 1, LIMITS.keys),
    mix,
    mixText: flags.mix,
    consistency: flags.consistency as ConsistencyName,
    rate,
  };
}
