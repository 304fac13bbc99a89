/**
 * How the supervisor runs one node: `tinyo node ...` through the same Node.js binary, flags and
 * CLI entry point the supervisor itself was started with (bin/run.js, or bin/dev.js under tsx),
 * its stdout and stderr appended to nodes/<id>/node.log, the token passed in the environment
 * (not on the command line, where `ps` would show it).
 */

import { closeSync, createWriteStream, mkdirSync, openSync, type WriteStream } from "node:fs";
import { execa, type ResultPromise } from "execa";
import type { ClusterPaths } from "./paths.js";
import { addressOf, type ClusterSpec } from "./spec.js";

/** The program that runs `tinyo <command>`: what this process was started with by default. */
export interface CliEntry {
  readonly execPath: string;
  readonly execArgv: readonly string[];
  readonly script: string;
}

export function currentCliEntry(): CliEntry {
  const script = process.argv[1];
  if (script === undefined) throw new Error("cannot tell which script runs the tinyo CLI");
  return { execPath: process.execPath, execArgv: process.execArgv, script };
}

/**
 * A founding node gets --peers (every member now; only a brand-new data directory reads it, the
 * member list then lives in the cluster), a node added later --join with the others' addresses.
 */
export function nodeArgs(spec: ClusterSpec, paths: ClusterPaths, id: number): string[] {
  const { settings } = spec;
  const self = spec.members.find((m) => m.id === id);
  const others = spec.members.filter((m) => m.id !== id);
  const membership = self?.joined
    ? ["--listen", addressOf(self), "--join", others.map(addressOf).join(",")]
    : ["--peers", spec.members.map((m) => `${m.id}=${addressOf(m)}`).join(",")];
  return [
    "node",
    "--id",
    String(id),
    ...membership,
    "--data",
    paths.dataDir(id),
    "--partitions",
    String(settings.partitions),
    "--replication",
    String(settings.replication),
    "--vnodes",
    String(settings.vnodes),
    "--tick-ms",
    String(settings.tickMs),
    ...(settings.fsync ? [] : ["--no-fsync"]),
    ...metricsArgs(spec, id),
  ];
}

function metricsArgs(spec: ClusterSpec, id: number): string[] {
  const member = spec.members.find((m) => m.id === id);
  return member?.metricsPort === undefined
    ? []
    : ["--metrics-listen", `${member.host}:${member.metricsPort}`];
}

/**
 * A log file for a child's stdout and stderr, given as its file descriptor (execa hands a stream
 * with an fd to the child as is; `{file}` would pipe every line through this process, and a
 * detached child would keep its parent waiting). Close it once the child is spawned.
 */
export function logFile(path: string): { readonly stream: WriteStream; close(): void } {
  const fd = openSync(path, "a");
  return { stream: createWriteStream("", { fd, autoClose: false }), close: () => closeSync(fd) };
}

const nodeOptions = (log: WriteStream, token: string) =>
  ({
    stdin: "ignore",
    stdout: log,
    stderr: log,
    env: { TINYO_TOKEN: token, NODE_ENV: "production" },
    reject: false,
    // Killed with the supervisor if it exits (a crash, a signal): no node outlives it silently.
    cleanup: true,
    // The supervisor sends SIGKILL itself after its own grace period.
    forceKillAfterDelay: false,
  }) as const;

export type NodeProcess = ResultPromise<ReturnType<typeof nodeOptions>>;

export function spawnNode(entry: CliEntry, spec: ClusterSpec, paths: ClusterPaths, id: number): NodeProcess {
  mkdirSync(paths.nodeDir(id), { recursive: true });
  const log = logFile(paths.nodeLog(id));
  try {
    return execa(
      entry.execPath,
      [...entry.execArgv, entry.script, ...nodeArgs(spec, paths, id)],
      nodeOptions(log.stream, spec.token),
    );
  } finally {
    log.close();
  }
}
