/**
 * Fault injection: crashes and restarts, partitions of every shape (random splits, an isolated
 * leader, majority and minority, one-way links, a member that bridges two others who cannot
 * talk), and triggers that strike a leader right after it was elected, accepted a write or
 * advanced its commit index. Random crashes alone would almost never line up the histories
 * that break an unsound commit rule (Raft's Figure 8); the triggers make them routine.
 *
 * Faults only strike during storms. `calm()` heals the network, restarts every crashed member
 * and cancels the faults still scheduled.
 */
import type { NodeId } from "../../src/node/raft/types.js";
import type { Cluster } from "./cluster.js";
import type { SimHost } from "./host.js";
import type { Network } from "./network.js";
import type { Random } from "./random.js";
import { type Scenario, TICK } from "./scenario.js";
import type { Stats } from "./stats.js";
import type { Trace } from "./trace.js";

interface Scheduled {
  readonly at: number;
  /** Faults belong to the storm that scheduled them; restarts (storm -1) always run. */
  readonly storm: number;
  readonly run: () => void;
}

export class Faults {
  private scheduled: Scheduled[] = [];
  private storm = 0;
  private storming = false;

  constructor(
    private readonly scenario: Scenario,
    private readonly cluster: Cluster,
    private readonly network: Network,
    private readonly random: Random,
    private readonly stats: Stats,
    private readonly trace: Trace,
    private readonly now: () => number,
  ) {}

  get active(): boolean {
    return this.storming;
  }

  startStorm(): void {
    this.storm++;
    this.storming = true;
    this.network.weather = this.scenario.storm;
    this.trace.note(this.now(), "storm begins");
  }

  /** No faults from here on until the next storm; everything crashed comes back. */
  calm(): void {
    this.storming = false;
    this.storm++;
    this.network.weather = { drop: 0, duplicate: 0, delay: 0, maxDelay: 0 };
    this.network.heal();
    for (const host of this.cluster.hosts.values()) {
      if (!host.alive && !this.cluster.retired.has(host.id)) host.start();
      else if (host.paused) host.pause(this.now());
    }
    this.trace.note(this.now(), "calm: network healed, crashed members restarted, paused ones resume");
  }

  /** One tick's chance of a new fault. */
  step(): void {
    if (!this.storming) return;
    const r = this.random;
    if (r.chance(this.scenario.faults.crash)) {
      const leader = this.cluster.leader();
      const victim = leader && r.chance(0.4) ? leader : this.pickLive();
      if (victim) this.crash(victim);
    }
    if (r.chance(this.scenario.faults.partition)) this.partition();
    if (r.chance(this.scenario.faults.pause)) {
      // Mostly the leader: a leader stopped past its lease, back with a client asking it at once.
      const leader = this.cluster.leader();
      const victim = leader && r.chance(0.6) ? leader : this.pickLive();
      if (victim && !victim.paused) {
        victim.pause(this.now() + r.between(1, 4 * this.scenario.core.electionTicks) * TICK);
        this.stats.pauses++;
      }
    }
  }

  /** Runs the scheduled actions that are due. */
  runDue(now: number): void {
    if (this.scheduled.length === 0) return;
    const due = this.scheduled.filter((s) => s.at <= now);
    if (due.length === 0) return;
    this.scheduled = this.scheduled.filter((s) => s.at > now);
    for (const s of due) {
      if (s.storm === -1 || (this.storming && s.storm === this.storm)) s.run();
    }
  }

  // --- triggers --------------------------------------------------------------------------------

  /** Called as a member wins an election, before its first appends leave. */
  leaderElected(host: SimHost): void {
    if (!this.storming) return;
    const r = this.random;
    const { triggers } = this.scenario;
    if (r.chance(triggers.crashNewLeader)) {
      // Its no-op then sits on its disk only, a log that may later conflict with a committed one.
      if (r.chance(0.5)) this.crashBeforeSend(host);
      else this.later(r.between(1, 30), () => this.crash(host));
    } else if (r.chance(triggers.isolateNewLeader)) {
      this.later(r.between(0, 3), () => this.isolate(host.id));
    }
  }

  /** Called before a client's write reaches a leader. */
  beforeWrite(host: SimHost): void {
    if (this.storming && this.random.chance(this.scenario.triggers.crashAfterPropose)) {
      if (this.random.chance(0.5)) this.crashBeforeSend(host);
      else this.later(this.random.between(0, 2), () => this.cutOff(host.id));
    }
  }

  /** Called when a leader advanced its commit index, typically between two appends. */
  leaderCommitted(host: SimHost): void {
    if (this.storming && this.random.chance(this.scenario.triggers.crashAfterCommit)) {
      if (this.random.chance(0.5)) this.later(this.random.between(0, 2), () => this.cutOff(host.id));
      else this.later(this.random.between(0, 5), () => this.crash(host));
    }
  }

  // --- faults ----------------------------------------------------------------------------------

  private later(delay: number, run: () => void): void {
    this.scheduled.push({ at: this.now() + delay, storm: this.storm, run });
  }

  /** The host will crash after persisting its next entries, before sending anything. */
  private crashBeforeSend(host: SimHost): void {
    host.crashBeforeSend = true;
    this.restartLater(host);
  }

  private crash(host: SimHost): void {
    if (!host.alive) return;
    host.crash();
    this.restartLater(host);
  }

  private restartLater(host: SimHost): void {
    const downFor = this.random.between(5, 60) * TICK;
    this.scheduled.push({
      at: this.now() + downFor,
      storm: -1,
      run: () => {
        if (!host.alive && !this.cluster.retired.has(host.id)) host.start();
      },
    });
  }

  /** Cuts a leader's outgoing links to a random subset of members: in-flight appends to them are lost. */
  private cutOff(id: NodeId): void {
    const others = [...this.cluster.hosts.keys()].filter((o) => o !== id);
    const cut = this.random.shuffled(others).slice(0, this.random.between(1, others.length));
    this.network.heal();
    for (const to of cut) this.network.cutOneWay(id, to);
    this.stats.partitions++;
    this.trace.note(this.now(), `partition: n${id} cannot reach [${cut.map((o) => `n${o}`)}]`);
    this.healLater();
  }

  private isolate(id: NodeId): void {
    this.network.heal();
    this.network.partition([[id]]);
    this.stats.partitions++;
    this.trace.note(this.now(), `partition: n${id} isolated`);
    this.healLater();
  }

  private partition(): void {
    const r = this.random;
    const ids = [...this.cluster.hosts.keys()].filter((id) => !this.cluster.retired.has(id));
    if (ids.length < 2) return;
    const leader = this.cluster.leader()?.id;
    this.network.heal();
    const kind = r.int(5);
    let what: string;
    if (kind === 0 && leader !== undefined) {
      this.network.partition([[leader]]);
      what = `leader n${leader} isolated`;
    } else if (kind === 1) {
      // A minority, with the leader in it half of the time.
      const others = r.shuffled(ids.filter((id) => id !== leader));
      const size = Math.max(1, Math.floor((ids.length - 1) / 2));
      const minority =
        leader !== undefined && r.chance(0.5)
          ? [leader, ...others.slice(0, size - 1)]
          : others.slice(0, size);
      this.network.partition([minority]);
      what = `minority [${minority.map((id) => `n${id}`)}] cut off`;
    } else if (kind === 2 && leader !== undefined) {
      // The leader still reaches everyone but hears nobody (or the reverse).
      const inbound = r.chance(0.5);
      for (const id of ids) {
        if (id === leader) continue;
        if (inbound) this.network.cutOneWay(id, leader);
        else this.network.cutOneWay(leader, id);
      }
      what = inbound ? `leader n${leader} hears nobody` : `leader n${leader} reaches nobody`;
    } else if (kind === 3 && ids.length >= 3) {
      // Two members cannot talk, but both talk to everyone else (a bridge).
      const [a, b] = r.shuffled(ids) as [NodeId, NodeId];
      this.network.cutOneWay(a, b);
      this.network.cutOneWay(b, a);
      what = `n${a} and n${b} cannot talk`;
    } else {
      const shuffled = r.shuffled(ids);
      const side = shuffled.slice(0, r.between(1, ids.length - 1));
      this.network.partition([side]);
      what = `split [${side.map((id) => `n${id}`)}] | rest`;
    }
    this.stats.partitions++;
    this.trace.note(this.now(), `partition: ${what}`);
    this.healLater();
  }

  private healLater(): void {
    this.later(this.random.between(10, 100) * TICK, () => {
      this.network.heal();
      this.trace.note(this.now(), "partition healed");
    });
  }

  private pickLive(): SimHost | undefined {
    const live = this.cluster.live;
    return live.length > 0 ? this.random.pick(live) : undefined;
  }
}
