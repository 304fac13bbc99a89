/**
 * Opening the state machine's database without ever starting afresh over existing data:
 * - a path that is a file, or a directory holding files but no RocksDB database: refused
 *   (RocksDB itself would happily create a database among unrelated files);
 * - a RocksDB database without tinyo's format marker, or with an unknown format: refused;
 * - a database RocksDB cannot open (damage, another process holds its lock): refused, with
 *   RocksDB's reason and the directory;
 * - an empty database (a new directory, or a creation interrupted before its marker): the
 *   marker is written.
 * Then the partitions whose snapshot install was interrupted by a crash are wiped (their
 * applied index becomes 0: see installSnapshot), and every partition's applied index is read.
 */

import { readdir, stat } from "node:fs/promises";
import RocksDB from "rocksdb-native";
import type { PartitionId } from "../ids.js";
import { NotAStateMachineError, StateMachineOpenError } from "./state-machine-errors.js";
import {
  ALL_PARTITIONS_RANGE,
  appliedIndexKey,
  FORMAT_KEY,
  FORMAT_MARKER,
  FORMAT_VERSION,
  formatVersionOf,
  INSTALLING_RANGE,
  partitionOfInstallingKey,
  partitionOfKey,
  partitionRange,
  readU64,
} from "./state-machine-keys.js";

export interface OpenedDatabase {
  readonly db: RocksDB;
  /** Applied index per partition that has one. */
  readonly applied: Map<PartitionId, number>;
  /** Partitions whose interrupted snapshot install was wiped: they need a snapshot again. */
  readonly interruptedInstalls: PartitionId[];
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** "create" for a missing or empty directory, "open" for one holding a RocksDB database. */
async function inspectDirectory(dir: string): Promise<"create" | "open"> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "create";
    throw new StateMachineOpenError(`cannot use ${dir} for the state machine: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (!isDirectory) {
    throw new NotAStateMachineError(
      `${dir} is a file, not a directory: the state machine needs a directory of its own ` +
        "(tinyo never replaces a file); point the node at a new or empty directory",
    );
  }
  const names = await readdir(dir);
  if (names.length === 0) return "create";
  if (names.includes("CURRENT")) return "open";
  const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? `, and ${names.length - 5} more` : "");
  throw new NotAStateMachineError(
    `${dir} is not a tinyo state machine: it holds files (${shown}) but no RocksDB database. tinyo never ` +
      "creates its database among other files: use a new or empty directory, or move those files away",
  );
}

async function closeQuietly(db: RocksDB): Promise<void> {
  try {
    await db.close();
  } catch {
    // Already failed: the caller reports the first error.
  }
}

/** Checks the format marker, writing it into an empty database. */
async function checkMarker(db: RocksDB, dir: string): Promise<void> {
  const marker = await db.get(FORMAT_KEY);
  if (marker === null) {
    if ((await db.peek({})) !== null) {
      throw new NotAStateMachineError(
        `${dir} holds a RocksDB database that is not a tinyo state machine (it has no tinyo format marker): ` +
          "tinyo does not touch it; point the node at a new or empty directory",
      );
    }
    const batch = db.write({ capacity: 1, autoDestroy: true });
    batch.tryPut(FORMAT_KEY, FORMAT_MARKER);
    await batch.flush();
    await db.flush();
    return;
  }
  const version = formatVersionOf(marker);
  if (version === undefined) {
    throw new NotAStateMachineError(
      `${dir} holds a RocksDB database whose format marker is not tinyo's: tinyo does not touch it; ` +
        "point the node at a new or empty directory",
    );
  }
  if (version !== FORMAT_VERSION) {
    throw new NotAStateMachineError(
      `${dir} holds a tinyo state machine in format version ${version}, and this tinyo reads version ` +
        `${FORMAT_VERSION}: run the tinyo version that wrote it`,
    );
  }
}

/** Wipes every partition whose snapshot install did not finish. */
async function wipeInterruptedInstalls(db: RocksDB): Promise<PartitionId[]> {
  const keys: Buffer[] = [];
  for await (const { key } of db.iterator({ ...INSTALLING_RANGE, values: false })) keys.push(key);
  if (keys.length === 0) return [];
  const batch = db.write({ capacity: 2 * keys.length, autoDestroy: true });
  const partitions = keys.map((key) => {
    const partition = partitionOfInstallingKey(key);
    const range = partitionRange(partition);
    batch.tryDeleteRange(range.gte, range.lt);
    batch.tryDelete(key);
    return partition;
  });
  await batch.flush();
  return partitions;
}

/** Every partition's applied index: one seek per partition (the applied index is its first key). */
async function readAppliedIndexes(db: RocksDB): Promise<Map<PartitionId, number>> {
  const applied = new Map<PartitionId, number>();
  let from: Uint8Array = ALL_PARTITIONS_RANGE.gte;
  for (;;) {
    const first = await db.peek({ gte: from, lt: ALL_PARTITIONS_RANGE.lt });
    if (first === null) return applied;
    const partition = partitionOfKey(first.key);
    if (Buffer.compare(first.key, appliedIndexKey(partition)) === 0) {
      applied.set(partition, readU64(first.value, 0));
    }
    from = partitionRange(partition).lt;
  }
}

export async function openDatabase(
  dir: string,
  options: { readonly maxBackgroundJobs: number },
): Promise<OpenedDatabase> {
  const mode = await inspectDirectory(dir);
  const db = new RocksDB(dir, {
    createIfMissing: mode === "create",
    maxBackgroundJobs: options.maxBackgroundJobs,
  });
  try {
    await db.ready();
  } catch (error) {
    await closeQuietly(db);
    const hint = /lock/i.test(errorMessage(error))
      ? "Another tinyo node (or process) has it open: stop that one first."
      : "The database may be damaged: restore it from a backup, or move the directory away and let the " +
        "node rebuild its partitions from its peers.";
    throw new StateMachineOpenError(
      `cannot open the tinyo state machine in ${dir}: RocksDB says "${errorMessage(error)}". ` +
        `Nothing was changed. ${hint}`,
      { cause: error },
    );
  }
  try {
    await checkMarker(db, dir);
    const interruptedInstalls = await wipeInterruptedInstalls(db);
    const applied = await readAppliedIndexes(db);
    return { db, applied, interruptedInstalls };
  } catch (error) {
    await closeQuietly(db);
    throw error;
  }
}
