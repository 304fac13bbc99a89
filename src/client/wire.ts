/**
 * What travels beside the protobuf messages between clients and nodes (and between nodes when
 * one forwards a request to a partition's leader): header names, the leader hint of an error,
 * and the retry policy's backoff. Shared by the TypeScript client and the node's services.
 */

import type { ConnectError } from "@connectrpc/connect";

/** Set by a node that forwards a KV request (its value is the node's id): never forward twice. */
export const FORWARDED_HEADER = "tinyo-forwarded-by";
/** On an Unavailable error: the partition's leader as the answering node knows it (0 = unknown). */
export const LEADER_HINT_HEADER = "tinyo-leader";
/** On an Unavailable error: the partition it is about. */
export const PARTITION_HEADER = "tinyo-partition";

/** The deadline of a request that carries none. */
export const DEFAULT_DEADLINE_MS = 5000;

/** The leader named by an error's metadata; undefined when it names none. */
export function leaderHintOf(error: ConnectError): number | undefined {
  const text = error.metadata.get(LEADER_HINT_HEADER);
  if (text === null) return undefined;
  const leader = Number(text);
  return Number.isSafeInteger(leader) && leader > 0 ? leader : undefined;
}

/** Exponential backoff with full jitter: attempt 0 waits up to `firstMs`, doubling to `maxMs`. */
export function backoffMs(attempt: number, firstMs = 10, maxMs = 250): number {
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 16));
  return Math.max(1, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
}
