/**
 * The node's data directory: `raft/` (the Raft log), `kv/` (RocksDB) and `node.json`, which
 * records whose data it is. A node refuses a directory that holds other files (it would not
 * be the first program to spread its files through someone's home), and one written by another
 * node or with another partition count, replication factor or vnode count: the same key would
 * then live in another partition, or a Raft vote cast by one node would be taken for another's.
 * The member list is not pinned: it lives in the cluster's metadata Raft group and changes with
 * `cluster add` and `cluster remove`.
 */

import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeConfig } from "./config.js";

/** The data directory cannot be used; the message says why and what to do. */
export class DataDirError extends Error {
  override name = "DataDirError";
}

const IDENTITY_FILE = "node.json";
const FORMAT = 1;
const OWN_ENTRIES = new Set(["raft", "kv", IDENTITY_FILE, `${IDENTITY_FILE}.tmp`]);

interface Identity {
  readonly format: number;
  readonly node: number;
  readonly partitions: number;
  readonly replication: number;
  readonly vnodes: number;
}

export interface DataDir {
  readonly raftDir: string;
  readonly kvDir: string;
}

/** Creates the directory or checks that it is this node's; returns where the two stores live. */
export async function prepareDataDir(config: NodeConfig): Promise<DataDir> {
  const dir = config.dataDir;
  const expected: Identity = {
    format: FORMAT,
    node: config.id,
    partitions: config.partitions,
    replication: config.replication,
    vnodes: config.vnodes,
  };
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new DataDirError(`--data ${dir} is a file, not a directory`);
  } catch (error) {
    if (error instanceof DataDirError) throw error;
    throw new DataDirError(`cannot create the data directory ${dir}: ${(error as Error).message}`);
  }
  const entries = await readdir(dir);
  const stored = entries.includes(IDENTITY_FILE) ? await readIdentity(dir) : undefined;
  if (stored === undefined) {
    const foreign = entries.filter((name) => !OWN_ENTRIES.has(name));
    if (foreign.length > 0) {
      throw new DataDirError(
        `--data ${dir} holds files that are not a tinyo node's (${foreign.slice(0, 3).join(", ")}` +
          `${foreign.length > 3 ? ", ..." : ""}): use a new or empty directory, or this node's own data directory`,
      );
    }
  } else {
    checkIdentity(dir, stored, expected);
  }
  // A directory from before dynamic membership also lists "members": rewritten without them.
  if (stored === undefined || JSON.stringify(stored) !== JSON.stringify(expected)) {
    const path = join(dir, IDENTITY_FILE);
    await writeFile(`${path}.tmp`, `${JSON.stringify(expected, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }
  return { raftDir: join(dir, "raft"), kvDir: join(dir, "kv") };
}

async function readIdentity(dir: string): Promise<Identity> {
  const path = join(dir, IDENTITY_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new DataDirError(`${path} is damaged (${(error as Error).message}): it is not a tinyo node's`);
  }
  const id = parsed as Partial<Identity>;
  if (id.format !== FORMAT || typeof id.node !== "number" || typeof id.partitions !== "number") {
    throw new DataDirError(`${path} is not in a format this tinyo knows: it was written by another version`);
  }
  return parsed as Identity;
}

function checkIdentity(dir: string, stored: Identity, expected: Identity): void {
  if (stored.node !== expected.node) {
    throw new DataDirError(
      `--data ${dir} belongs to node ${stored.node}, not node ${expected.node}: give each node its own directory`,
    );
  }
  const placementKeys = ["partitions", "replication", "vnodes"] as const;
  for (const key of placementKeys) {
    if (stored[key] !== expected[key]) {
      throw new DataDirError(
        `--data ${dir} was created with --${key} ${stored[key]}, now ${expected[key]}: the placement of a ` +
          `cluster's data cannot change this way; start with --${key} ${stored[key]}`,
      );
    }
  }
}
