/** The limits of `cluster up`'s numbers, checked before anything is written or started. */

import { ClusterError } from "./errors.js";
import { METRICS_PORT_OFFSET } from "./spec.js";

export const UP_LIMITS = {
  nodes: { min: 1, max: 64 },
  partitions: { min: 1, max: 4096 },
  vnodes: { min: 1, max: 1024 },
  tickMs: { min: 5, max: 10_000 },
} as const;

export function validateUpOptions(o: {
  nodes: number;
  basePort: number;
  partitions: number;
  replication: number;
  vnodes: number;
  tickMs: number;
}): void {
  const range = (flag: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ClusterError(`${flag} ${value} is out of range: use ${min} to ${max}`);
    }
  };
  range("--nodes", o.nodes, UP_LIMITS.nodes.min, UP_LIMITS.nodes.max);
  range("--partitions", o.partitions, UP_LIMITS.partitions.min, UP_LIMITS.partitions.max);
  range("--replication", o.replication, 1, o.nodes);
  range("--vnodes", o.vnodes, UP_LIMITS.vnodes.min, UP_LIMITS.vnodes.max);
  range("--tick-ms", o.tickMs, UP_LIMITS.tickMs.min, UP_LIMITS.tickMs.max);
  if (o.basePort !== 0) range("--base-port", o.basePort, 1024, 65535 - METRICS_PORT_OFFSET - o.nodes);
}
