/**
 * The clients: unique writes, ReadIndex and LEASE reads, leader transfers and membership changes, aimed
 * sometimes at the real leader, sometimes at a member that only believes it leads, sometimes
 * at anyone (so that refusals, forwarding and stale leaders all get exercised).
 */
import { nodeId } from "../../src/node/ids.js";
import type { ConfChange, NodeId, ProposeResult, RequestResult } from "../../src/node/raft/types.js";
import type { Cluster } from "./cluster.js";
import type { SimHost } from "./host.js";
import type { Random } from "./random.js";
import { MIN_VOTERS, type Scenario, UNIVERSE } from "./scenario.js";
import { countRefusal, type Stats } from "./stats.js";

export class Workload {
  private writes = 0;
  private reads = 0;

  constructor(
    private readonly scenario: Scenario,
    private readonly cluster: Cluster,
    private readonly random: Random,
    private readonly stats: Stats,
    /** Told before a write is sent to a member (a fault may strike it before it replicates). */
    private readonly beforeWrite: (host: SimHost) => void,
  ) {}

  /** One tick's worth of client activity. */
  step(): void {
    const rates = this.scenario.clients;
    const r = this.random;
    if (r.chance(rates.propose)) this.write();
    if (r.chance(rates.read)) this.read();
    if (r.chance(rates.transfer)) this.transfer();
    if (r.chance(rates.conf)) this.changeMembership();
  }

  /** A fresh unique payload, e.g. "w17-42" (seed 17, 42nd write). */
  nextPayload(prefix: string): string {
    this.writes++;
    return `${prefix}${this.scenario.seed}-${this.writes}`;
  }

  private write(): void {
    const r = this.random;
    const target = r.chance(0.7) ? this.cluster.leader() : this.anyLive();
    if (!target || target.paused) return;
    if (target.raft?.role === "leader") this.beforeWrite(target);
    const result = target.propose(this.nextPayload("w"));
    if (!result) return;
    this.stats.proposals++;
    this.count(result);
  }

  private read(): void {
    const r = this.random;
    const roll = r.float();
    // A client with a stale routing cache keeps reading from a leader that may be deposed.
    const claimed = this.cluster.claimedLeaders();
    const target =
      roll < 0.4
        ? this.cluster.leader()
        : roll < 0.7 && claimed.length > 0
          ? r.pick(claimed)
          : this.anyLive();
    if (!target || target.paused) return;
    this.askRead(target, r.chance(this.scenario.clients.lease));
  }

  /** A paused member comes back: a client with a stale routing cache may ask it at once. */
  resumed(host: SimHost): void {
    if (host.raft?.role === "leader" && this.random.chance(0.5)) this.askRead(host, true);
  }

  private askRead(target: SimHost, lease: boolean): void {
    this.reads++;
    const context = `${lease ? "l" : "r"}${this.scenario.seed}-${this.reads}`;
    const result = lease ? target.leaseRead(context) : target.readIndex(context);
    if (!result) return;
    this.stats.reads++;
    this.count(result);
  }

  private transfer(): void {
    const leader = this.cluster.leader();
    const node = leader?.raft;
    if (!leader || !node || leader.paused) return;
    const others = node.config.voters.filter((v) => v !== leader.id);
    if (others.length === 0) return;
    // Now and then a target that is not a voter, which the core must refuse.
    const target = this.random.chance(0.1)
      ? nodeId(this.random.between(1, UNIVERSE))
      : this.random.pick(others);
    const result = leader.transferLeader(target);
    if (!result) return;
    this.stats.transfers++;
    this.count(result);
  }

  /** Add a learner, promote one, or remove a member (the leader too), never below 3 voters. */
  private changeMembership(): void {
    const leader = this.cluster.leader();
    const node = leader?.raft;
    if (!leader || !node || leader.paused) return;
    const r = this.random;
    const { voters, learners } = node.config;
    const choices: ConfChange[] = [];
    if (learners.length > 0) choices.push({ type: "addVoter", node: r.pick(learners) });
    const outsiders: NodeId[] = [];
    for (let i = 1; i <= UNIVERSE; i++) {
      const id = nodeId(i);
      if (!voters.includes(id) && !learners.includes(id) && !this.cluster.retired.has(id)) outsiders.push(id);
    }
    if (outsiders.length > 0) choices.push({ type: "addLearner", node: r.pick(outsiders) });
    // The leader's configuration includes its pending change, so this keeps every config >= 3.
    if (voters.length > MIN_VOTERS) choices.push({ type: "removeNode", node: r.pick(voters) });
    if (learners.length > 0 && r.chance(0.3)) choices.push({ type: "removeNode", node: r.pick(learners) });
    if (choices.length === 0) return;
    // Now and then a change that makes no sense (adding a voter again, removing a stranger),
    // which the core must refuse; the minimum of 3 voters is kept all the same.
    const nonsense: ConfChange = r.chance(0.5)
      ? { type: r.chance(0.5) ? "addVoter" : "addLearner", node: r.pick(voters) }
      : { type: "removeNode", node: outsiders.length > 0 ? r.pick(outsiders) : r.pick(voters) };
    const change =
      r.chance(0.1) && (nonsense.type !== "removeNode" || voters.length > MIN_VOTERS)
        ? nonsense
        : r.pick(choices);
    if (change.type === "addLearner") this.cluster.ensureHost(change.node);
    const result = leader.proposeConfChange(change);
    if (!result) return;
    this.stats.confChanges++;
    this.count(result);
  }

  private anyLive(): SimHost | undefined {
    const live = this.cluster.responsive;
    return live.length > 0 ? this.random.pick(live) : undefined;
  }

  private count(result: ProposeResult | RequestResult): void {
    if (!result.ok) countRefusal(this.stats, result.reason);
  }
}
