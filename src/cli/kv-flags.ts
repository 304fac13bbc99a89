/** Flags and inputs of the key-value commands: consistency, values from stdin. */

import { Flags } from "@oclif/core";
import { Consistency } from "../client/index.js";
import { UsageError } from "./error-message.js";

export const consistencyFlag = Flags.option({
  options: ["linearizable", "lease", "stale"] as const,
  default: "linearizable" as const,
  summary: "linearizable (ReadIndex), lease (served as linearizable for now) or stale (any replica).",
})();

export const CONSISTENCY: Record<"linearizable" | "lease" | "stale", Consistency> = {
  linearizable: Consistency.LINEARIZABLE,
  lease: Consistency.LEASE,
  stale: Consistency.STALE,
};

/** The largest value a node accepts. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Reads the value from stdin (for `-`), refusing more than the limit before reading it all. */
export async function readStdinValue(stdin: NodeJS.ReadableStream = process.stdin): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_VALUE_BYTES) {
      throw new UsageError(`the value on stdin is larger than ${MAX_VALUE_BYTES} bytes (1 MiB), the limit`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");
