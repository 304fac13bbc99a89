/**
 * The supervisor's files: `supervisor.json` (its pid and the loopback port of its control API)
 * and `state.json` (every node's pid and state), both rewritten atomically so that readers never
 * see half a file.
 */

import { ClusterError } from "./errors.js";
import { readJson, writeJsonAtomic } from "./json-file.js";
import type { ClusterPaths } from "./paths.js";

/**
 * - running: the process is up (it may still be starting its servers);
 * - paused: stopped with SIGSTOP by `tinyo pause`, until `tinyo resume`;
 * - stopping: asked to exit (SIGTERM, SIGKILL after the grace period);
 * - backoff: it exited on its own; the supervisor restarts it at `restartAt`;
 * - killed: stopped by `tinyo kill`; stays down until `tinyo restart`;
 * - stopped: stopped with the cluster (`cluster down`).
 */
export type NodeState = "running" | "paused" | "stopping" | "backoff" | "killed" | "stopped";

export interface NodeExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
}

export interface NodeRecord {
  readonly id: number;
  /** The process id while a process exists (running, paused, stopping). */
  readonly pid: number | null;
  readonly state: NodeState;
  /** Restarts after the node exited on its own, since the supervisor started. */
  readonly restarts: number;
  /** When the node entered its state (ISO time). */
  readonly since: string;
  /** For backoff: when the supervisor restarts it (ISO time). */
  readonly restartAt: string | null;
  readonly lastExit: NodeExit | null;
}

export interface SupervisorState {
  readonly supervisorPid: number;
  readonly updatedAt: string;
  readonly nodes: readonly NodeRecord[];
}

export interface SupervisorInfo {
  readonly pid: number;
  /** The control API listens on 127.0.0.1:port. */
  readonly port: number;
  readonly startedAt: string;
}

export function readSupervisorInfo(paths: ClusterPaths): SupervisorInfo | undefined {
  const value = readOrFail(paths.supervisor) as Partial<SupervisorInfo> | undefined;
  if (value === undefined) return undefined;
  if (!Number.isInteger(value.pid) || !Number.isInteger(value.port)) {
    throw new ClusterError(`${paths.supervisor} is damaged; run \`tinyo cluster down\` and \`cluster up\``);
  }
  return value as SupervisorInfo;
}

export function readSupervisorState(paths: ClusterPaths): SupervisorState | undefined {
  const value = readOrFail(paths.state) as Partial<SupervisorState> | undefined;
  if (value === undefined) return undefined;
  if (!Array.isArray(value.nodes)) {
    throw new ClusterError(`${paths.state} is damaged; run \`tinyo cluster down\` and \`cluster up\``);
  }
  return value as SupervisorState;
}

export function writeSupervisorInfo(paths: ClusterPaths, info: SupervisorInfo): void {
  writeJsonAtomic(paths.supervisor, info);
}

export function writeSupervisorState(paths: ClusterPaths, state: SupervisorState): void {
  writeJsonAtomic(paths.state, state);
}

function readOrFail(path: string): unknown {
  try {
    return readJson(path);
  } catch (error) {
    throw new ClusterError(`${path} is not valid JSON (${(error as Error).message})`);
  }
}
