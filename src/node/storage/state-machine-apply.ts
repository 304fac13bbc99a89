/**
 * Planning one apply: committed entries in, the writes of ONE RocksDB batch and an outcome per
 * entry out. Pure (the dedup records and the sweep are read beforehand), so every replica that
 * plans the same entries over the same state writes the same batch.
 */

import type { PartitionId } from "../ids.js";
import { type Command, decodeCommand } from "./commands.js";
import { dedupRecord, isLiveRecord, requestIdHex } from "./state-machine-dedup.js";
import { InvalidCallError } from "./state-machine-errors.js";
import { appliedIndexKey, dataKey, u64 } from "./state-machine-keys.js";

/** A committed Raft entry. Empty data: a no-op or a conf change, which only advances the index. */
export interface ApplyEntry {
  readonly index: number;
  readonly data: Uint8Array;
}

export type ApplyOutcome =
  /** Empty data: only the applied index moved. */
  | { readonly kind: "noop"; readonly index: number }
  | { readonly kind: "applied"; readonly index: number; readonly command: Command }
  /** The request id was applied before, at `appliedAt`: nothing changed. */
  | {
      readonly kind: "duplicate";
      readonly index: number;
      readonly command: Command;
      readonly appliedAt: number;
    }
  /**
   * Not a valid command (damaged, from a newer tinyo, or over the limits): skipped, on every
   * replica alike, so that the partition does not stall on it. Proposers validate first, so this
   * is a bug or damage worth logging.
   */
  | { readonly kind: "rejected"; readonly index: number; readonly reason: string };

/** One operation of a RocksDB write batch; a batch applies its operations in order. */
export type WriteOp =
  | { readonly op: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: "delete"; readonly key: Uint8Array }
  /** Deletes [start, end). */
  | { readonly op: "deleteRange"; readonly start: Uint8Array; readonly end: Uint8Array };

type Decoded =
  | { readonly index: number; readonly command: Command }
  | { readonly index: number; readonly noop: true }
  | { readonly index: number; readonly reason: string };

/** Throws InvalidCallError unless the entries continue the applied index one by one. */
export function checkContiguous(
  partition: PartitionId,
  applied: number,
  entries: readonly ApplyEntry[],
): void {
  entries.forEach((entry, i) => {
    const expected = applied + 1 + i;
    if (entry.index !== expected) {
      throw new InvalidCallError(
        `partition ${partition}: entry ${i} of the apply has index ${entry.index}, expected ${expected} ` +
          `(the applied index is ${applied}; entries must follow it without gaps or repeats)`,
      );
    }
  });
}

export function decodeEntries(entries: readonly ApplyEntry[]): Decoded[] {
  return entries.map(({ index, data }) => {
    if (data.length === 0) return { index, noop: true };
    try {
      return { index, command: decodeCommand(data) };
    } catch (error) {
      return { index, reason: error instanceof Error ? error.message : String(error) };
    }
  });
}

/** The request ids of the decoded commands (with repeats). */
export function requestIdsOf(decoded: readonly Decoded[]): Uint8Array[] {
  const ids: Uint8Array[] = [];
  for (const d of decoded)
    if ("command" in d && d.command.requestId !== undefined) ids.push(d.command.requestId);
  return ids;
}

export interface ApplyPlan {
  readonly ops: WriteOp[];
  readonly outcomes: ApplyOutcome[];
}

/**
 * The batch for `decoded` (contiguous, non-empty): the commands with their dedup records, then
 * `expire` (see expireGenerations), and last the new applied index. `stored` maps request id
 * (hex) -> the newest index that applied it, as read before.
 */
export function planApply(
  partition: PartitionId,
  decoded: readonly Decoded[],
  stored: ReadonlyMap<string, number>,
  expire: readonly WriteOp[],
  window: number,
): ApplyPlan {
  const ops: WriteOp[] = [];
  const outcomes: ApplyOutcome[] = [];
  const records = new Map(stored);
  for (const d of decoded) {
    if ("noop" in d) {
      outcomes.push({ kind: "noop", index: d.index });
      continue;
    }
    if ("reason" in d) {
      outcomes.push({ kind: "rejected", index: d.index, reason: d.reason });
      continue;
    }
    const { command, index } = d;
    const { requestId } = command;
    if (requestId !== undefined) {
      const hex = requestIdHex(requestId);
      const previous = records.get(hex);
      if (previous !== undefined && isLiveRecord(previous, index, window)) {
        outcomes.push({ kind: "duplicate", index, command, appliedAt: previous });
        continue;
      }
      const record = dedupRecord(partition, index, requestId, window);
      ops.push({ op: "put", key: record.key, value: record.value });
      records.set(hex, index);
    }
    const key = dataKey(partition, command.key);
    ops.push(command.type === "put" ? { op: "put", key, value: command.value } : { op: "delete", key });
    outcomes.push({ kind: "applied", index, command });
  }
  ops.push(...expire);
  const last = decoded[decoded.length - 1];
  if (last !== undefined) ops.push({ op: "put", key: appliedIndexKey(partition), value: u64(last.index) });
  return { ops, outcomes };
}
