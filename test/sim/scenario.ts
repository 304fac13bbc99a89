/**
 * The shape of one run, drawn from its seed: cluster size, the core's options, how hostile the
 * network is during storms, how often clients act and faults strike. Drawing these per seed,
 * rather than fixing them, is what lets 10,000 seeds cover pre-vote on and off, one entry per
 * append or many, tiny compaction thresholds, asynchronous persistence, and so on.
 */
import type { CoreOptions } from "./host.js";
import type { Weather } from "./network.js";
import { Random } from "./random.js";

/** Time units per tick: messages take 1-4 units, so a round trip fits within a heartbeat. */
export const TICK = 10;
/** Node ids that may ever be members: the initial voters are 1..nodes, the rest join later. */
export const UNIVERSE = 7;
export const MIN_VOTERS = 3;

export interface Scenario {
  readonly seed: number;
  readonly nodes: number;
  readonly core: CoreOptions & { readonly electionTicks: number };
  readonly storm: Weather;
  readonly compactEvery: number;
  readonly asyncPersistChance: number;
  /** Per tick that falls due, chance that a host is busy for up to 3 ticks (its ticks pile up). */
  readonly busyChance: number;
  /** Each host's clock runs at a rate within this fraction of the global one. */
  readonly clockSkew: number;
  /** Ticks of storms and calms before the final calm. */
  readonly chaosTicks: number;
  /** Per tick, during storms and calms alike. */
  readonly clients: {
    readonly propose: number;
    readonly read: number;
    /** Of the reads, the share sent with LEASE consistency (the rest: ReadIndex). */
    readonly lease: number;
    readonly transfer: number;
    readonly conf: number;
  };
  /** Per tick, during storms only. */
  readonly faults: { readonly crash: number; readonly partition: number; readonly pause: number };
  /** Reactions to what the cluster just did, which random faults alone would rarely line up. */
  readonly triggers: {
    /** A new leader crashes within a few round trips: leaves entries of its term on a minority. */
    readonly crashNewLeader: number;
    readonly isolateNewLeader: number;
    /** A leader that just accepted a write crashes before it can replicate it everywhere. */
    readonly crashAfterPropose: number;
    /** A leader crashes right after advancing its commit index (between two appends). */
    readonly crashAfterCommit: number;
  };
}

export interface ScenarioOverrides {
  readonly nodes?: 3 | 5;
}

export function drawScenario(seed: number, overrides: ScenarioOverrides = {}): Scenario {
  const r = new Random(seed, 7);
  const electionTicks = r.between(5, 10);
  const core: Scenario["core"] = {
    electionTicks,
    heartbeatTicks: r.between(1, 2),
    preVote: r.chance(0.7),
    checkQuorum: r.chance(0.6),
    ...optional("maxInflight", r.pick([1, 2, 4, 16, undefined])),
    // One entry per append is what lets a leader count a quorum on an old entry alone (Figure 8).
    ...optional("maxEntriesPerAppend", r.pick([1, 1, 2, 3, 8, undefined])),
  };
  return {
    seed,
    nodes: overrides.nodes ?? r.pick([3, 5]),
    core,
    storm: {
      drop: r.pick([0, 0.01, 0.03, 0.06, 0.1]),
      duplicate: r.pick([0, 0.01, 0.03]),
      delay: r.pick([0, 0.05, 0.2, 0.5]),
      maxDelay: r.between(5, 60),
    },
    compactEvery: r.pick([3, 5, 10, 20, 50]),
    asyncPersistChance: r.pick([0, 0, 0.1, 0.3, 0.6]),
    busyChance: r.pick([0, 0.01, 0.05]),
    clockSkew: r.pick([0, 0.005, 0.02]),
    chaosTicks: 1000,
    clients: { propose: 0.5, read: 0.35, lease: 0.5, transfer: 0.01, conf: 0.02 },
    faults: { crash: 0.012, partition: 0.015, pause: 0.01 },
    triggers: { crashNewLeader: 0.1, isolateNewLeader: 0.1, crashAfterPropose: 0.02, crashAfterCommit: 0.03 },
  };
}

/** `{ key: value }`, or nothing when the value is undefined (the core then uses its default). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
