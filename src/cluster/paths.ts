/**
 * Where a local cluster lives on disk: `$TINYO_HOME/<name>` (default `~/.tinyo/<name>`), with
 * `cluster.json` (members, ports, settings, token), the supervisor's files, and one directory per
 * node holding its data and its log.
 */

import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const DEFAULT_CLUSTER = "default";

/** Where clusters live: the flag, else $TINYO_HOME, else ~/.tinyo. */
export function tinyoHome(home: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(home ?? env.TINYO_HOME ?? join(homedir(), ".tinyo"));
}

/** The files of one cluster. */
export interface ClusterPaths {
  readonly name: string;
  readonly dir: string;
  /** Members, ports, settings and token: written by `cluster up`, read by everyone. */
  readonly spec: string;
  /** The supervisor's pid and control port: written by the supervisor once it listens. */
  readonly supervisor: string;
  /** Every node's pid and state: rewritten by the supervisor on every change. */
  readonly state: string;
  /** The supervisor's own JSON-lines log (node starts, exits, restarts). */
  readonly supervisorLog: string;
  /** The REPL's history. */
  readonly history: string;
  nodeDir(id: number): string;
  dataDir(id: number): string;
  nodeLog(id: number): string;
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class ClusterNameError extends Error {
  override name = "ClusterNameError";
}

export function clusterPaths(home: string, name: string): ClusterPaths {
  if (!CLUSTER_NAME.test(name)) {
    throw new ClusterNameError(
      `--cluster '${name}' is not a valid name: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit`,
    );
  }
  const dir = join(home, name);
  const nodeDir = (id: number) => join(dir, "nodes", String(id));
  return {
    name,
    dir,
    spec: join(dir, "cluster.json"),
    supervisor: join(dir, "supervisor.json"),
    state: join(dir, "state.json"),
    supervisorLog: join(dir, "supervisor.log"),
    history: join(dir, "repl_history"),
    nodeDir,
    dataDir: (id) => join(nodeDir(id), "data"),
    nodeLog: (id) => join(nodeDir(id), "node.log"),
  };
}
