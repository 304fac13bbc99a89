/**
 * The nemesis: seeded faults, one at a time, each held for a while and then healed, with quiet
 * spells between them (Jepsen's start/stop cycle), until the run's signal aborts:
 * - kill: SIGKILL one node or up to a minority, often the node leading the most partitions;
 *   restarted from its data at the end of the hold;
 * - pause: SIGSTOP the same way, SIGCONT at the end (a frozen leader that wakes up still
 *   believing it leads is the classic way to serve a stale read);
 * - partition: Raft traffic cut through the Admin service: a random majority/minority split, the
 *   busiest leader isolated, or a bridge (two halves that only one node connects);
 * - membership: one node (often the busiest leader) removed from the member list while it keeps
 *   running, so its replicas and leaderships move to the others; added back (Join) at the heal,
 *   so they move back, often before the first moves are done.
 * Every choice comes from the seeded random source, so a seed replays the same schedule (the
 * cluster's own timing still differs from run to run).
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Random } from "../node/random.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { MembershipFaults } from "./membership-faults.js";
import type { NetworkFaults } from "./network-faults.js";

/** How long a heal waits for a restarted node to answer. */
const RESTART_TIMEOUT_MS = 30_000;

export const NEMESIS_KINDS = ["kill", "pause", "partition", "membership"] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

/** One fault, for the progress line and the history file; times are the recorder's. */
export interface FaultRecord {
  readonly kind: NemesisKind;
  readonly description: string;
  readonly at: number;
  healedAt?: number;
}

export interface NemesisOptions {
  readonly kinds: readonly NemesisKind[];
  readonly random: Random;
  readonly partitions: number;
  /** The recorder's clock. */
  readonly now: () => number;
  /** Milliseconds between a heal and the next fault, and how long a fault is held. */
  readonly quietMs: readonly [number, number];
  readonly holdMs: readonly [number, number];
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  private readonly killed = new Set<number>();
  private readonly paused = new Set<number>();
  private readonly removed = new Set<number>();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly network: NetworkFaults,
    private readonly members: MembershipFaults,
    private readonly options: NemesisOptions,
  ) {}

  /** Injects and heals faults until `signal` aborts; everything is healed when it returns. */
  async run(signal: AbortSignal): Promise<void> {
    const { random, kinds, quietMs, holdMs } = this.options;
    try {
      while (!signal.aborted) {
        if (!(await pause(random.between(quietMs[0], quietMs[1]), signal))) break;
        const kind = kinds[random.int(kinds.length)] as NemesisKind;
        const record: FaultRecord = { kind, description: await this.tryInject(kind), at: this.options.now() };
        this.faults.push(record);
        await pause(random.between(holdMs[0], holdMs[1]), signal);
        await this.heal();
        record.healedAt = this.options.now();
      }
    } finally {
      await this.heal();
    }
  }

  /**
   * Restarts killed nodes, resumes paused ones, clears every fault rule; returns once the
   * restarted nodes answer again (or RESTART_TIMEOUT_MS passed), so that the next fault does
   * not pile onto a node still starting up (faults one at a time, as designed).
   */
  async heal(): Promise<void> {
    for (const id of this.paused) await this.cluster.resume(id);
    this.paused.clear();
    const restarted = [...this.killed];
    for (const id of restarted) await this.cluster.restart(id);
    this.killed.clear();
    await this.network.waitAnswering(restarted, RESTART_TIMEOUT_MS);
    await this.network.heal();
    for (const id of this.removed) await this.members.addBack(id);
    this.removed.clear();
  }

  /** The fault's description; a fault that could not be injected says so (and is healed). */
  private async tryInject(kind: NemesisKind): Promise<string> {
    try {
      return await this.inject(kind);
    } catch (error) {
      return `${kind} not injected: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private async inject(kind: NemesisKind): Promise<string> {
    switch (kind) {
      case "kill": {
        const targets = await this.someNodes();
        for (const id of targets) {
          await this.cluster.kill(id);
          this.killed.add(id);
        }
        return `kill ${targets.join(",")}`;
      }
      case "pause": {
        const targets = await this.someNodes();
        for (const id of targets) {
          await this.cluster.pause(id);
          this.paused.add(id);
        }
        return `pause ${targets.join(",")}`;
      }
      case "partition":
        return this.partition();
      case "membership": {
        const [target] = await this.someNodes();
        if (target === undefined) return "membership: no node";
        const others = this.cluster.nodeIds.filter((n) => n !== target);
        await this.members.remove(target, others[this.options.random.int(others.length)] as number);
        this.removed.add(target);
        return `remove member ${target}`;
      }
    }
  }

  /** One node up to a minority; half the time led by the node that leads the most partitions. */
  private async someNodes(): Promise<number[]> {
    const { random } = this.options;
    const nodes = shuffled(this.cluster.nodeIds, random);
    const count = random.between(1, Math.max(1, Math.floor((nodes.length - 1) / 2)));
    if (random.chance(0.5)) {
      const busiest = await this.busiestLeader();
      if (busiest !== undefined) nodes.unshift(...nodes.splice(nodes.indexOf(busiest), 1));
    }
    return nodes.slice(0, count).sort((a, b) => a - b);
  }

  private async busiestLeader(): Promise<number | undefined> {
    const { led } = await this.network.leaders(this.options.partitions);
    let busiest: number | undefined;
    for (const [node, count] of led)
      if (busiest === undefined || count > (led.get(busiest) ?? 0)) busiest = node;
    return busiest;
  }

  private async partition(): Promise<string> {
    const { random } = this.options;
    const nodes = shuffled(this.cluster.nodeIds, random);
    const variant = random.int(3);
    const sides = (groups: number[][]) =>
      groups.map((g) => [...g].sort((a, b) => a - b).join(",")).join(" | ");
    if (variant === 0) {
      const minority = nodes.splice(0, random.between(1, Math.max(1, Math.floor((nodes.length - 1) / 2))));
      await this.network.cut(cutBetween([minority, nodes]));
      return `partition majority/minority: ${sides([minority, nodes])}`;
    }
    if (variant === 1) {
      const leader = (await this.busiestLeader()) ?? (nodes[0] as number);
      const rest = nodes.filter((n) => n !== leader);
      await this.network.cut(cutBetween([[leader], rest]));
      return `partition isolated leader: ${sides([[leader], rest])}`;
    }
    const bridge = nodes.pop() as number;
    const left = nodes.splice(0, Math.ceil(nodes.length / 2));
    await this.network.cut(cutBetween([left, nodes]));
    return `partition bridge: ${sides([left, [bridge], nodes])} (${bridge} reaches both sides)`;
  }
}

/** For each node of each group, the nodes of the other groups. */
function cutBetween(groups: readonly (readonly number[])[]): Map<number, number[]> {
  const cut = new Map<number, number[]>();
  for (const group of groups)
    for (const node of group)
      cut.set(
        node,
        groups.filter((g) => g !== group).flatMap((g) => [...g]),
      );
  return cut;
}

function shuffled(items: readonly number[], random: Random): number[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/** Sleeps `ms`, or less if `signal` aborts; whether it slept the whole time. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
