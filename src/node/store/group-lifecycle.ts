/**
 * Groups come and go at runtime (dynamic membership): this is how a group's Raft member is made
 * from what storage holds, how a new cluster's groups get their first configuration, and how a
 * replica that moved away is erased.
 *
 * A group's initial configuration lives in its Raft log: a founding node writes, for every group
 * it starts with, a snapshot meta at index 0 carrying the founding configuration (`bootstrap`),
 * so a restart never depends on the member list it was started with. A replica created later
 * (the leader added it as a learner) starts with an empty configuration and an empty log: it
 * learns its configuration from the leader's log (the learner's own addition is in it) or from
 * the snapshot the leader sends.
 */
import type { NodeId, PartitionId } from "../ids.js";
import { RaftNode } from "../raft/raft.js";
import type { Config } from "../raft/types.js";
import { Random } from "../random.js";
import type { RaftEngine } from "../storage/raft-engine.js";
import { Group } from "./group.js";
import type { ReplicatedStateMachine } from "./replicated-state-machine.js";
import { planRestart } from "./restart-state.js";

export const EMPTY_CONFIG: Config = { voters: [], learners: [] };

export interface GroupParams {
  readonly self: NodeId;
  readonly engine: RaftEngine;
  readonly stateMachine: ReplicatedStateMachine;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly seed: number;
}

/** The group's member restarted from storage (a group never written starts empty). */
export async function loadGroup(params: GroupParams, partition: PartitionId): Promise<Group> {
  const { engine, stateMachine, self } = params;
  const stored = engine.load(partition);
  let applied = await stateMachine.appliedIndex(partition);
  if (!engine.groups().includes(partition) && applied > 0) {
    // Keys left by an erase that a crash interrupted (the log forgets the group first).
    await stateMachine.deletePartition(partition);
    applied = 0;
  }
  const plan = planRestart(
    partition,
    stored,
    applied,
    await stateMachine.installedSnapshotMeta(partition),
    EMPTY_CONFIG,
  );
  if (plan.repair) await engine.write([plan.repair]);
  const random = new Random(params.seed, partition + 1);
  const raft = new RaftNode(
    {
      id: self,
      electionTicks: params.electionTicks,
      heartbeatTicks: params.heartbeatTicks,
      random: (n) => random.int(n),
    },
    plan.state,
  );
  return new Group(partition, raft);
}

/**
 * Records the founding configuration of each group (one durable write for all), unless the log
 * already holds any group: a node bootstraps once, when its log is brand new.
 */
export async function bootstrap(
  engine: RaftEngine,
  configs: ReadonlyMap<PartitionId, Config>,
): Promise<void> {
  if (engine.groups().length > 0 || configs.size === 0) return;
  await engine.write(
    [...configs].map(([group, config]) => ({ group, entries: [], snapshot: { index: 0, term: 0, config } })),
  );
}

/**
 * Erases a replica that moved away: its Raft log and hard state, then its keys (loadGroup
 * deletes keys that a crash in between left behind).
 */
export async function eraseReplica(
  engine: RaftEngine,
  stateMachine: ReplicatedStateMachine,
  partition: PartitionId,
): Promise<void> {
  await engine.drop(partition);
  await stateMachine.deletePartition(partition);
}
