/**
 * Which nodes a command talks to: the `--endpoints` given, else the local cluster's members.
 * Errors a person can act on: a malformed endpoint, or no such cluster running.
 */

import { ClusterControl, type ClusterRef } from "./control.js";
import { ClusterError, ClusterNotRunningError } from "./errors.js";

export interface ResolvedCluster {
  /** The local cluster's name; undefined when the endpoints were given. */
  readonly name: string | undefined;
  /** host:port of every node to talk to. */
  readonly endpoints: readonly string[];
  /** The members (id and address) when known: always for a local cluster, never from --endpoints. */
  readonly nodes: readonly { readonly id: number; readonly address: string }[];
  /** The cluster token (local clusters only). */
  readonly token: string | undefined;
  /** Q, when known without asking the cluster. */
  readonly partitions: number | undefined;
  /** The process control of a local cluster; undefined for --endpoints. */
  readonly control: ClusterControl | undefined;
}

export interface ResolveOptions extends ClusterRef {
  /** host:port,host:port,... as typed; takes precedence over the local cluster. */
  readonly endpoints?: string;
}

const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (endpoints.length === 0) throw new ClusterError("--endpoints is empty: give host:port,host:port,...");
  for (const endpoint of endpoints) {
    const match = ENDPOINT.exec(endpoint);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new ClusterError(`--endpoints: '${endpoint}' is not host:port (e.g. 127.0.0.1:50051)`);
    }
  }
  return endpoints;
}

/** The endpoints to use; ClusterNotRunningError when the local cluster is not running. */
export function resolveCluster(options: ResolveOptions = {}): ResolvedCluster {
  if (options.endpoints !== undefined) {
    return {
      name: undefined,
      endpoints: parseEndpoints(options.endpoints),
      nodes: [],
      token: undefined,
      partitions: undefined,
      control: undefined,
    };
  }
  const control = ClusterControl.open(options);
  if (!control.isRunning()) throw new ClusterNotRunningError(control.name);
  return {
    name: control.name,
    endpoints: control.endpoints,
    nodes: control.nodeIds.map((id) => ({ id, address: control.address(id) })),
    token: control.spec.token,
    partitions: control.spec.settings.partitions,
    control,
  };
}
