/**
 * One seed's run: build the cluster, then advance simulated time unit by unit (member ticks,
 * message deliveries, asynchronous persists, scheduled faults, and once per tick the clients
 * and the fault dice), through storms separated by calms, and end with a final calm in which
 * liveness is checked. Everything is a function of the seed; a violation comes back with the
 * seed and the last events.
 */
import { RaftNode } from "../../src/node/raft/raft.js";
import type { Entry, Message, NodeId } from "../../src/node/raft/types.js";
import { type AppliedView, Checker, type DurableLog, type Property, PropertyViolation } from "./checker.js";
import { HostClock } from "./clock.js";
import { Cluster } from "./cluster.js";
import { Faults } from "./faults.js";
import type { HostEnv, MemberFactory, SimHost } from "./host.js";
import { Network } from "./network.js";
import { Random } from "./random.js";
import { drawScenario, type Scenario, type ScenarioOverrides, TICK } from "./scenario.js";
import { emptyStats, type Stats } from "./stats.js";
import { Trace } from "./trace.js";
import { Workload } from "./workload.js";

export interface Violation {
  readonly seed: number;
  readonly property: Property;
  readonly detail: string;
  /** The last events before the violation, oldest first. */
  readonly trace: readonly string[];
}

/** The seed, property and detail, how to replay it, and the trace, one line each. */
export function describeViolation(v: Violation): string {
  return [
    `seed ${v.seed}: ${v.property}: ${v.detail}`,
    `  replay: npm run sim -- --from ${v.seed} --seeds 1 --verbose`,
    ...v.trace.map((line) => `  ${line}`),
  ].join("\n");
}

export interface SeedResult {
  readonly seed: number;
  readonly violation: Violation | undefined;
  readonly stats: Stats;
}

export interface RunOptions extends ScenarioOverrides {
  /** The member class under test; the real RaftNode by default. */
  readonly factory?: MemberFactory;
  /** Receives every trace line as it happens. */
  readonly verbose?: (line: string) => void;
  /** How many events a violation's trace shows. */
  readonly traceLength?: number;
}

export const realRaft: MemberFactory = (options, state) => new RaftNode(options, state);

/** Liveness bound: after the final calm begins, a probe write must be applied everywhere in this many election timeouts. */
const LIVENESS_TIMEOUTS = 20;

export function runSeed(seed: number, options: RunOptions = {}): SeedResult {
  const sim = new Simulation(drawScenario(seed, options), options);
  return sim.run();
}

class Simulation {
  private time = 0;
  private readonly stats = emptyStats();
  private readonly trace: Trace;
  private readonly checker = new Checker(() => this.electorate());
  private readonly network: Network;
  private readonly cluster: Cluster;
  private readonly workload: Workload;
  private readonly faults: Faults;
  private readonly random: Random;
  private readonly traceLength: number;

  constructor(
    private readonly scenario: Scenario,
    options: RunOptions,
  ) {
    const seed = scenario.seed;
    this.traceLength = options.traceLength ?? 60;
    // Room for the heartbeats that the violation's trace leaves out.
    this.trace = new Trace(this.traceLength * 5, options.verbose);
    this.random = new Random(seed, 0);
    this.network = new Network(new Random(seed, 1));
    const env: HostEnv = {
      seed,
      checker: this.checker,
      trace: this.trace,
      random: new Random(seed, 2),
      stats: this.stats,
      factory: options.factory ?? realRaft,
      core: scenario.core,
      compactEvery: scenario.compactEvery,
      asyncPersistChance: scenario.asyncPersistChance,
      busyChance: scenario.busyChance,
      now: () => this.time,
      send: (m) => this.send(m),
      leaderElected: (h) => this.faults.leaderElected(h),
      leaderCommitted: (h) => this.faults.leaderCommitted(h),
      confApplied: (h, e) => this.confApplied(h, e),
      resumed: (h) => this.workload.resumed(h),
    };
    this.trace.note(0, describeScenario(scenario));
    const skew = scenario.clockSkew;
    this.cluster = new Cluster(
      env,
      scenario.nodes,
      () => new HostClock(1 - skew + 2 * skew * this.random.float(), this.random.int(TICK)),
    );
    this.faults = new Faults(
      scenario,
      this.cluster,
      this.network,
      new Random(seed, 3),
      this.stats,
      this.trace,
      () => this.time,
    );
    this.workload = new Workload(scenario, this.cluster, new Random(seed, 4), this.stats, (h) =>
      this.faults.beforeWrite(h),
    );
  }

  run(): SeedResult {
    let violation: Violation | undefined;
    try {
      this.chaos();
      this.finalCalm();
    } catch (error) {
      violation = this.toViolation(error);
    }
    this.stats.ticks = Math.floor(this.time / TICK);
    return { seed: this.scenario.seed, violation, stats: this.stats };
  }

  /** Storms of 60-200 ticks separated by calms of 20-50 ticks, for `chaosTicks` in all. */
  private chaos(): void {
    const end = this.scenario.chaosTicks * TICK;
    while (this.time < end) {
      this.faults.startStorm();
      this.advance(Math.min(end, this.time + this.random.between(60, 200) * TICK), true);
      if (this.time >= end) break;
      this.faults.calm();
      this.advance(Math.min(end, this.time + this.random.between(20, 50) * TICK), true);
    }
  }

  /**
   * Heal everything, retire the members whose removal committed, stop the clients, and require
   * that a leader among the voters gets a fresh write applied on every member of its
   * configuration within the bound; then every acknowledged write must be everywhere too.
   */
  private finalCalm(): void {
    this.faults.calm();
    this.retireLingering();
    const deadline = this.time + LIVENESS_TIMEOUTS * this.scenario.core.electionTicks * TICK;
    const probes: string[] = [];
    let probed = "";
    let everywhere = false;
    let final: { id: NodeId; state: AppliedView }[] = [];
    while (this.time < deadline) {
      this.advance(this.time + TICK, false);
      const leader = this.cluster.leader();
      const node = leader?.raft;
      if (!leader || !node?.config.voters.includes(leader.id)) continue;
      // One probe per leadership: a probe of an earlier one may have been lost with it.
      if (probed !== `${leader.id}@${node.term}`) {
        const probe = this.workload.nextPayload("probe");
        if (leader.propose(probe)?.ok) {
          probes.push(probe);
          probed = `${leader.id}@${node.term}`;
        }
      }
      const members: SimHost[] = [];
      for (const id of [...node.config.voters, ...node.config.learners]) {
        const host = this.cluster.hosts.get(id);
        if (host) members.push(host);
      }
      everywhere = probes.some((p) =>
        members.every((h) => h.alive && h.stateMachine.indexOfPayload(p) !== undefined),
      );
      final = members.map((h) => ({ id: h.id, state: h.stateMachine }));
      if (everywhere && this.checker.missingWrite(final) === undefined) {
        this.trace.note(
          this.time,
          `live: a probe and every acknowledged write are applied on [${members.map((h) => `n${h.id}`)}]`,
        );
        return;
      }
    }
    // Acknowledged writes still missing after a probe got everywhere are lost, not merely late.
    if (everywhere) this.checker.allWritesApplied(final);
    throw new PropertyViolation(
      "liveness",
      `no write was applied on every member within ${LIVENESS_TIMEOUTS} election timeouts of calm; ${this.describeMembers()}`,
    );
  }

  /**
   * Removed members that may not know it (they missed their removal) would keep calling
   * elections with higher terms when neither pre-vote nor check-quorum stops them: a known
   * limit of Raft (thesis 4.2.3), not a bug. A real host destroys such a replica; so do we,
   * keeping any member that a live member of the committed configuration still lists.
   */
  private retireLingering(): void {
    const keep = new Set<NodeId>();
    const committed = this.cluster.committedConfig;
    for (const id of [...committed.voters, ...committed.learners]) {
      keep.add(id);
      const config = this.cluster.hosts.get(id)?.raft?.config;
      if (config) for (const m of [...config.voters, ...config.learners]) keep.add(m);
    }
    for (const id of [...this.cluster.hosts.keys()]) {
      if (!keep.has(id) && !this.cluster.retired.has(id)) this.retire(id);
    }
  }

  /** Runs time units up to `until` (excluded); clients act once per tick when `clients` is set. */
  private advance(until: number, clients: boolean): void {
    const hosts = this.cluster.hosts;
    for (; this.time < until; this.time++) {
      const t = this.time;
      const phase = t % TICK;
      for (const host of hosts.values()) host.clockStep(t);
      const due = this.network.takeDue(t);
      for (const m of due) this.deliver(m);
      for (const host of hosts.values()) host.poll(t);
      this.faults.runDue(t);
      if (phase === 0 && clients) {
        this.workload.step();
        this.faults.step();
      }
    }
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (!this.network.send(this.time, m)) {
      this.stats.dropped++;
      this.trace.record(this.time, { kind: "drop", msg: m, why: "lost" });
    }
  }

  private deliver(m: Message): void {
    const to = this.cluster.hosts.get(m.to);
    if (!to?.alive) {
      this.trace.record(this.time, { kind: "drop", msg: m, why: "down" });
    } else if (!this.network.canReach(m.from, m.to)) {
      this.trace.record(this.time, { kind: "drop", msg: m, why: "partition" });
    } else {
      this.trace.record(this.time, { kind: "deliver", msg: m });
      to.deliver(m);
    }
  }

  private confApplied(_host: SimHost, entry: Entry): void {
    for (const id of this.cluster.confApplied(entry)) {
      // Half of the removed members are destroyed at once; the others linger, unaware or not.
      // Not one that a later conf entry adds back (a client re-added it before the removal applied).
      if (this.faults.active && this.random.chance(0.5) && !this.listedAnywhere(id)) this.retire(id);
    }
  }

  /** Whether any member's configuration, in memory or on disk, lists `id`. */
  private listedAnywhere(id: NodeId): boolean {
    for (const host of this.cluster.hosts.values()) {
      for (const config of [host.raft?.config, host.disk.config]) {
        if (config && (config.voters.includes(id) || config.learners.includes(id))) return true;
      }
    }
    return false;
  }

  private retire(id: NodeId): void {
    this.trace.note(this.time, `retire n${id} (removed from the group)`);
    this.cluster.retire(id);
  }

  /** Durable logs of every member that can still vote: all but the retired, crashed ones included. */
  private *electorate(): Iterable<[NodeId, DurableLog]> {
    for (const [id, host] of this.cluster.hosts) {
      if (!this.cluster.retired.has(id)) yield [id, host.disk];
    }
  }

  private describeMembers(): string {
    return [...this.cluster.hosts.values()]
      .map((h) => {
        const n = h.raft;
        if (!n) return `n${h.id} ${this.cluster.retired.has(h.id) ? "retired" : "down"}`;
        return (
          `n${h.id} ${n.role} term=${n.term} leader=${n.leader} commit=${n.commitIndex} applied=${n.appliedIndex} ` +
          `last=${n.lastIndex} voters=[${n.config.voters}] learners=[${n.config.learners}]`
        );
      })
      .join("; ");
  }

  private toViolation(error: unknown): Violation {
    const base = { seed: this.scenario.seed, trace: this.trace.lines(this.traceLength) };
    if (error instanceof PropertyViolation)
      return { ...base, property: error.property, detail: error.detail };
    const detail =
      error instanceof Error
        ? `${error.name}: ${error.message}\n${(error.stack ?? "").split("\n").slice(1, 6).join("\n")}`
        : String(error);
    return { ...base, property: "exception", detail };
  }
}

function describeScenario(s: Scenario): string {
  const c = s.core;
  return (
    `scenario seed=${s.seed} nodes=${s.nodes} election=${c.electionTicks} heartbeat=${c.heartbeatTicks} ` +
    `preVote=${c.preVote} checkQuorum=${c.checkQuorum} maxInflight=${c.maxInflight ?? "default"} ` +
    `maxEntries=${c.maxEntriesPerAppend ?? "default"} drop=${s.storm.drop} dup=${s.storm.duplicate} ` +
    `delay=${s.storm.delay}x${s.storm.maxDelay} compactEvery=${s.compactEvery} asyncPersist=${s.asyncPersistChance} busy=${s.busyChance} skew=${s.clockSkew}`
  );
}
