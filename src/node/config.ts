/**
 * The node's configuration: parsed and validated from the raw `tinyo node` flags. Every problem
 * is a ConfigError whose one-line message names the flag, the value and what would be accepted,
 * so that the command can print it as is (no stack trace) and exit non-zero.
 */

import { type NodeId, nodeId } from "./ids.js";
import { PLACEMENT_DEFAULTS } from "./ring/index.js";

/** A flag value that cannot be used; the message is for the person who typed it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface PeerAddress {
  readonly id: NodeId;
  /** host:port as given (a host name, an IPv4 address, or an IPv6 address in brackets). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly id: NodeId;
  /** Where this node's HTTP/2 server listens. */
  readonly listen: { readonly host: string; readonly port: number; readonly address: string };
  /**
   * The founding members of the cluster (this node included), ascending by id; with `join`, this
   * node alone. Only a brand-new node reads it: afterwards the member list is the one the
   * cluster's metadata group holds.
   */
  readonly peers: readonly PeerAddress[];
  /** Addresses of running members to ask for admission: this node joins an existing cluster. */
  readonly join?: readonly string[];
  /** The node's data directory: `raft/` (the Raft log) and `kv/` (RocksDB) live under it. */
  readonly dataDir: string;
  readonly partitions: number;
  readonly replication: number;
  readonly vnodes: number;
  /** The cluster's shared secret for peer (Raft) traffic. */
  readonly token: string;
  /** True when the token was not given and the development default is used. */
  readonly defaultToken: boolean;
  readonly fsync: boolean;
  readonly tickMs: number;
  /** Compact a group's Raft log once it has applied this many entries since the last cut. */
  readonly compactEvery: number;
  /** Where to serve Prometheus metrics (HTTP/1.1, GET /metrics); none when not given. */
  readonly metricsListen?: { readonly host: string; readonly port: number; readonly address: string };
}

/** The raw flags, as typed (strings), or already numbers when a caller builds them in code. */
export interface RawNodeFlags {
  readonly id?: string | number;
  readonly listen?: string;
  readonly peers?: string;
  readonly join?: string;
  readonly data?: string;
  readonly partitions?: string | number;
  readonly replication?: string | number;
  readonly vnodes?: string | number;
  readonly token?: string;
  readonly fsync?: boolean;
  readonly tickMs?: string | number;
  readonly compactEvery?: string | number;
  readonly metricsListen?: string;
}

export const LIMITS = {
  partitions: { min: 1, max: 4096 },
  vnodes: { min: 1, max: 4096 },
  tickMs: { min: 1, max: 10_000 },
  compactEvery: { min: 1, max: 100_000_000 },
  nodeId: { min: 1, max: 0xffff_ffff },
} as const;

export const DEFAULT_TICK_MS = 50;
export const DEFAULT_COMPACT_EVERY = 10_000;

/**
 * Used when neither --token nor TINYO_TOKEN is given, so that a hand-started local cluster works;
 * anything that knows it can speak Raft to the node, which the node logs as a warning.
 */
export const DEVELOPMENT_TOKEN = "tinyo-development-token";

export function parseNodeConfig(flags: RawNodeFlags, env: NodeJS.ProcessEnv = {}): NodeConfig {
  const id = nodeId(parseInteger("--id", required("--id", flags.id), LIMITS.nodeId));
  if (flags.join !== undefined && flags.peers !== undefined) {
    throw new ConfigError(
      "--join and --peers exclude each other: --peers lists a new cluster's founding members, --join " +
        "names members of a running cluster to join",
    );
  }
  const join = flags.join === undefined ? undefined : parseJoin(flags.join);
  if (join && flags.listen === undefined) {
    throw new ConfigError(
      "--listen is required with --join: this node's own HOST:PORT, where the others reach it",
    );
  }
  const peers = join
    ? [{ id, ...parseAddress("--listen", flags.listen as string) }]
    : parsePeers(required("--peers (or --join)", flags.peers));
  const self = peers.find((p) => p.id === id);
  if (!self) {
    throw new ConfigError(
      `--id ${id} is not in --peers (which lists ${peers.map((p) => p.id).join(", ")}): ` +
        "add this node to --peers or fix --id",
    );
  }
  const listen = flags.listen === undefined ? self : parseAddress("--listen", flags.listen);
  if (listen.port !== self.port) {
    throw new ConfigError(
      `--listen ${listen.address} uses port ${listen.port} but --peers gives node ${id} the address ` +
        `${self.address}: peers would not reach this node; use the same port in both`,
    );
  }
  const data = flags.data?.trim();
  if (!data) throw new ConfigError("--data is required: the directory that holds this node's data");
  const partitions = optionalInteger("--partitions", flags.partitions, PLACEMENT_DEFAULTS.partitions, {
    min: LIMITS.partitions.min,
    max: LIMITS.partitions.max,
  });
  const vnodes = optionalInteger("--vnodes", flags.vnodes, PLACEMENT_DEFAULTS.vnodes, LIMITS.vnodes);
  const replication = optionalInteger(
    "--replication",
    flags.replication,
    join ? PLACEMENT_DEFAULTS.replication : Math.min(PLACEMENT_DEFAULTS.replication, peers.length),
    { min: 1, max: Number.MAX_SAFE_INTEGER },
  );
  if (!join && replication > peers.length) {
    throw new ConfigError(
      `--replication ${replication} needs at least ${replication} nodes but --peers lists ${peers.length}: ` +
        `lower --replication to at most ${peers.length} or add peers`,
    );
  }
  const tickMs = optionalInteger("--tick-ms", flags.tickMs, DEFAULT_TICK_MS, LIMITS.tickMs);
  const compactEvery = optionalInteger(
    "--compact-every",
    flags.compactEvery,
    DEFAULT_COMPACT_EVERY,
    LIMITS.compactEvery,
  );
  const metricsListen =
    flags.metricsListen === undefined ? undefined : parseAddress("--metrics-listen", flags.metricsListen);
  if (metricsListen && metricsListen.port === listen.port) {
    throw new ConfigError(
      `--metrics-listen ${metricsListen.address} uses port ${listen.port}, where the node serves HTTP/2: ` +
        "give the metrics endpoint a port of its own",
    );
  }
  const givenToken = flags.token ?? (env.TINYO_TOKEN || undefined);
  if (givenToken !== undefined && givenToken.length === 0) {
    throw new ConfigError("--token is empty: give the cluster's token (the same on every node)");
  }
  return {
    id,
    listen: { host: listen.host, port: listen.port, address: listen.address },
    peers,
    ...(join && { join }),
    dataDir: data,
    partitions,
    replication,
    vnodes,
    token: givenToken ?? DEVELOPMENT_TOKEN,
    defaultToken: givenToken === undefined,
    fsync: flags.fsync ?? true,
    tickMs,
    compactEvery,
    ...(metricsListen && { metricsListen }),
  };
}

/** Parses "1=127.0.0.1:50051,2=127.0.0.1:50052": ids unique, addresses unique, ascending by id. */
export function parsePeers(text: string): PeerAddress[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new ConfigError("--peers is empty: list every node as ID=HOST:PORT, comma-separated");
  }
  const peers: PeerAddress[] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq < 0) {
      throw new ConfigError(`--peers entry "${item}" is not ID=HOST:PORT (for example 1=127.0.0.1:50051)`);
    }
    const id = nodeId(
      parseInteger(`--peers node id "${item.slice(0, eq)}"`, item.slice(0, eq), LIMITS.nodeId),
    );
    const address = parseAddress(`--peers entry for node ${id}`, item.slice(eq + 1));
    const sameId = peers.find((p) => p.id === id);
    if (sameId) {
      throw new ConfigError(`--peers lists node ${id} twice (${sameId.address} and ${address.address})`);
    }
    const sameAddress = peers.find((p) => p.address === address.address);
    if (sameAddress) {
      throw new ConfigError(
        `--peers gives nodes ${sameAddress.id} and ${id} the same address ${address.address}: each node needs its own`,
      );
    }
    peers.push({ id, ...address });
  }
  return peers.sort((a, b) => a.id - b.id);
}

/** Parses "127.0.0.1:50051,127.0.0.1:50052": the members to ask for admission. */
export function parseJoin(text: string): string[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) {
    throw new ConfigError("--join is empty: give HOST:PORT of one or more running members, comma-separated");
  }
  return items.map((item) => parseAddress("--join entry", item).address);
}

/** Parses HOST:PORT, with an IPv6 host in brackets ([::1]:50051). */
export function parseAddress(what: string, text: string): { host: string; port: number; address: string } {
  const trimmed = text.trim();
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]+)$/.exec(trimmed);
  if (!match) {
    throw new ConfigError(`${what} "${text}" is not HOST:PORT (for example 127.0.0.1:50051)`);
  }
  const host = match[1] as string;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${what} "${text}" has port ${match[2]}: a port is 1 to 65535`);
  }
  if (!host.startsWith("[") && /^[0-9.]+$/.test(host) && !isIPv4(host)) {
    throw new ConfigError(`${what} "${text}" has host ${host}, which is not an IPv4 address`);
  }
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port, address: `${host}:${port}` };
}

function isIPv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 && parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

function required<T>(flag: string, value: T | undefined): T {
  if (value === undefined || (typeof value === "string" && value.trim() === "")) {
    throw new ConfigError(`${flag} is required`);
  }
  return value;
}

function optionalInteger(
  flag: string,
  value: string | number | undefined,
  fallback: number,
  range: { readonly min: number; readonly max: number },
): number {
  return value === undefined ? fallback : parseInteger(flag, value, range);
}

function parseInteger(
  flag: string,
  value: string | number,
  range: { readonly min: number; readonly max: number },
): number {
  const text = String(value).trim();
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  const bounds =
    range.max >= Number.MAX_SAFE_INTEGER ? `at least ${range.min}` : `from ${range.min} to ${range.max}`;
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${flag} "${value}" is not a whole number ${bounds}`);
  if (n < range.min || n > range.max) throw new ConfigError(`${flag} ${n} is out of range: use ${bounds}`);
  return n;
}
