/**
 * `cluster.json`: what a cluster is (members and their ports, partitioning, Raft settings, the
 * token peers present to each other). Written by `cluster up`, read by the supervisor and by
 * every command that talks to the cluster.
 */

import { randomBytes } from "node:crypto";
import { ClusterError } from "./errors.js";
import { readJson, writeJsonAtomic } from "./json-file.js";
import type { ClusterPaths } from "./paths.js";

export interface ClusterMember {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Prometheus /metrics (plain HTTP/1.1); absent in clusters created before it existed. */
  readonly metricsPort?: number;
  /** Added by `cluster add`: started with --join (the founding members start with --peers). */
  readonly joined?: boolean;
}

export interface ClusterSettings {
  readonly partitions: number;
  readonly replication: number;
  readonly vnodes: number;
  readonly fsync: boolean;
  readonly tickMs: number;
}

export interface ClusterSpec {
  readonly version: 1;
  readonly name: string;
  readonly members: readonly ClusterMember[];
  readonly settings: ClusterSettings;
  readonly token: string;
  readonly createdAt: string;
}

export const SPEC_DEFAULTS = {
  nodes: 5,
  basePort: 50050,
  partitions: 32,
  replication: 3,
  vnodes: 64,
  tickMs: 50,
} as const;

export const LOOPBACK = "127.0.0.1";

export const addressOf = (member: ClusterMember): string => `${member.host}:${member.port}`;

/** Every port a member listens on, with what it is for. */
export const portsOf = (member: ClusterMember): { port: number; use: string }[] => [
  { port: member.port, use: "node" },
  ...(member.metricsPort === undefined ? [] : [{ port: member.metricsPort, use: "metrics" }]),
];

/** Node i's metrics port is this far above its main port (the main ports take at most 64). */
export const METRICS_PORT_OFFSET = 100;

/**
 * A new cluster: node i (1..nodes) listens on 127.0.0.1:basePort+i and serves /metrics on
 * basePort+100+i; a fresh random token.
 */
export function newSpec(
  name: string,
  options: { nodes: number; basePort: number; settings: ClusterSettings },
): ClusterSpec {
  const members = Array.from({ length: options.nodes }, (_, i) => ({
    id: i + 1,
    host: LOOPBACK,
    port: options.basePort + i + 1,
    metricsPort: options.basePort + METRICS_PORT_OFFSET + i + 1,
  }));
  return {
    version: 1,
    name,
    members,
    settings: options.settings,
    token: randomBytes(24).toString("hex"),
    createdAt: new Date().toISOString(),
  };
}

/** The cluster's spec, or undefined when the cluster was never created. */
export function readSpec(paths: ClusterPaths): ClusterSpec | undefined {
  let value: unknown;
  try {
    value = readJson(paths.spec);
  } catch (error) {
    throw new ClusterError(`${paths.spec} is not valid JSON (${(error as Error).message}); fix or delete it`);
  }
  if (value === undefined) return undefined;
  if (!isSpec(value)) {
    throw new ClusterError(`${paths.spec} is not a tinyo cluster file; fix or delete it`);
  }
  return value;
}

export function writeSpec(paths: ClusterPaths, spec: ClusterSpec): void {
  writeJsonAtomic(paths.spec, spec);
}

function isSpec(value: unknown): value is ClusterSpec {
  if (typeof value !== "object" || value === null) return false;
  const spec = value as Partial<ClusterSpec>;
  return (
    spec.version === 1 &&
    typeof spec.token === "string" &&
    Array.isArray(spec.members) &&
    spec.members.every(
      (m) => Number.isInteger(m?.id) && typeof m?.host === "string" && Number.isInteger(m?.port),
    ) &&
    typeof spec.settings === "object" &&
    spec.settings !== null &&
    Number.isInteger(spec.settings.partitions)
  );
}
