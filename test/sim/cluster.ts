/**
 * The set of simulated hosts and what the simulation knows about membership: the newest
 * configuration seen committed (applied anywhere), and the ids retired for good. A member
 * whose removal committed may be destroyed, as a real host garbage-collects a replica it no
 * longer holds; a destroyed id never comes back (a new replica would get a new id).
 */
import { nodeId } from "../../src/node/ids.js";
import type { Config, Entry, NodeId } from "../../src/node/raft/types.js";
import type { HostClock } from "./clock.js";
import { Disk } from "./disk.js";
import { type HostEnv, SimHost } from "./host.js";
import { StateMachine } from "./state-machine.js";

const NO_MEMBERS: Config = { voters: [], learners: [] };

export class Cluster {
  readonly hosts = new Map<NodeId, SimHost>();
  readonly retired = new Set<NodeId>();
  committedConfig: Config;
  private committedConfigIndex = 0;

  constructor(
    private readonly env: HostEnv,
    initialVoters: number,
    /** A new host's clock: its own rate and phase. */
    private readonly clockOf: () => HostClock,
  ) {
    const voters = Array.from({ length: initialVoters }, (_, i) => nodeId(i + 1));
    this.committedConfig = { voters, learners: [] };
    for (const id of voters) this.add(id, this.committedConfig);
  }

  private add(id: NodeId, config: Config): SimHost {
    const host = new SimHost(
      id,
      new Disk(config, StateMachine.empty().serialize()),
      this.env,
      this.clockOf(),
    );
    this.hosts.set(id, host);
    host.start();
    return host;
  }

  /** A member about to be added: a brand new host with an empty log, if it never existed. */
  ensureHost(id: NodeId): void {
    if (!this.hosts.has(id)) this.add(id, NO_MEMBERS);
  }

  get live(): SimHost[] {
    return [...this.hosts.values()].filter((h) => h.alive);
  }

  /** Live and not paused: the members a client gets an answer from now. */
  get responsive(): SimHost[] {
    return this.live.filter((h) => !h.paused);
  }

  /** The leader with the highest term among live members: where an up-to-date client would go. */
  leader(): SimHost | undefined {
    let best: SimHost | undefined;
    for (const h of this.hosts.values()) {
      const node = h.raft;
      if (node?.role === "leader" && (best === undefined || node.term > (best.raft?.term ?? 0))) best = h;
    }
    return best;
  }

  /** Every responsive member that believes it leads (a deposed one may not know yet). */
  claimedLeaders(): SimHost[] {
    return this.responsive.filter((h) => h.raft?.role === "leader");
  }

  /** Records a conf change seen applied; returns the members it removed, if it is the newest. */
  confApplied(entry: Entry): NodeId[] {
    if (entry.type !== "confChange" || entry.index <= this.committedConfigIndex) return [];
    const before = this.committedConfig;
    this.committedConfig = entry.config;
    this.committedConfigIndex = entry.index;
    const now = new Set([...entry.config.voters, ...entry.config.learners]);
    return [...before.voters, ...before.learners].filter((id) => !now.has(id));
  }

  isCommittedMember(id: NodeId): boolean {
    return this.committedConfig.voters.includes(id) || this.committedConfig.learners.includes(id);
  }

  /** Destroys a removed member for good. */
  retire(id: NodeId): void {
    this.hosts.get(id)?.crash();
    this.retired.add(id);
  }
}
