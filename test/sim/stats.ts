/** Counters of what a run exercised, so that a summary can show the faults really happened. */
export interface Stats {
  proposals: number;
  acknowledged: number;
  /** Accepted, but another entry was applied at that index: the client would retry. */
  lost: number;
  refusals: Record<string, number>;
  reads: number;
  readsServed: number;
  /** Reads a leader served from its lease, without a heartbeat round. */
  leaseReads: number;
  transfers: number;
  confChanges: number;
  crashes: number;
  pauses: number;
  partitions: number;
  elections: number;
  snapshotsSent: number;
  compactions: number;
  messages: number;
  dropped: number;
  ticks: number;
}

export function emptyStats(): Stats {
  return {
    proposals: 0,
    acknowledged: 0,
    lost: 0,
    refusals: {},
    reads: 0,
    readsServed: 0,
    leaseReads: 0,
    transfers: 0,
    confChanges: 0,
    crashes: 0,
    pauses: 0,
    partitions: 0,
    elections: 0,
    snapshotsSent: 0,
    compactions: 0,
    messages: 0,
    dropped: 0,
    ticks: 0,
  };
}

export function countRefusal(stats: Stats, reason: string): void {
  stats.refusals[reason] = (stats.refusals[reason] ?? 0) + 1;
}

export function addStats(into: Stats, from: Stats): void {
  for (const key of Object.keys(from) as (keyof Stats)[]) {
    if (key === "refusals") {
      for (const [reason, n] of Object.entries(from.refusals))
        into.refusals[reason] = (into.refusals[reason] ?? 0) + n;
    } else {
      into[key] += from[key];
    }
  }
}
