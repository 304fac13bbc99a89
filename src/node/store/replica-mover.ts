/**
 * Moves replicas toward the target placement, one Raft membership change at a time per
 * partition (move-plan.ts decides which), for the partitions this node leads: only a leader can
 * propose a configuration change, and every partition has one leader, so no two nodes ever move
 * the same partition.
 *
 * A round runs every few ticks. At most `maxMovesInFlight` learners are catching up at once on
 * behalf of this node (each costs the leader a snapshot or a log replay), so a membership change
 * that moves many replicas moves them in waves. When a removal this node proposed is applied,
 * the removed node is told (`onRemoved`), since the leader stops talking to it and it could not
 * otherwise know that its replica is no longer wanted.
 */
import type { NodeId, PartitionId } from "../ids.js";
import type { Config } from "../raft/types.js";
import type { Group } from "./group.js";
import { type MoveStep, nextMoveStep } from "./move-plan.js";

export interface MoverHost {
  readonly self: NodeId;
  /** The groups hosted here (the mover acts on those it leads). */
  groups(): Iterable<Group>;
  /** The configuration the partition should have; undefined while not known. */
  target(partition: PartitionId): Config | undefined;
  /** Whether the group is the metadata group (its removed members must catch up first). */
  isMetadata(partition: PartitionId): boolean;
  /** A core was given input: drive the cycle. */
  schedule(): void;
  /** `node` no longer belongs to `partition` (the removal is applied here). */
  onRemoved(partition: PartitionId, node: NodeId): void;
  log(event: string, fields: Record<string, unknown>): void;
}

export interface MoveStats {
  /** Learners catching up on behalf of this node now. */
  readonly inFlight: number;
  /** Membership changes this node proposed since it started, by kind. */
  readonly learnersAdded: number;
  readonly promoted: number;
  readonly removed: number;
}

interface PendingRemoval {
  readonly partition: PartitionId;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
}

export class ReplicaMover {
  private readonly pending = new Map<string, PendingRemoval>();
  private inFlight = 0;
  private readonly counts = { learnersAdded: 0, promoted: 0, removed: 0 };

  constructor(
    private readonly host: MoverHost,
    private readonly maxMovesInFlight: number,
  ) {}

  stats(): MoveStats {
    return { inFlight: this.inFlight, ...this.counts };
  }

  /** One round: a step for every partition led here that differs from its target. */
  round(): void {
    const led: { group: Group; target: Config }[] = [];
    for (const group of this.host.groups()) {
      if (group.installing || group.raft.role !== "leader") continue;
      const target = this.host.target(group.partition);
      if (target) led.push({ group, target });
    }
    // Moves already in flight count against the budget before any new one starts.
    this.inFlight = led.filter(({ group, target }) =>
      group.raft.config.learners.some((n) => target.voters.includes(n)),
    ).length;
    for (const { group, target } of led) {
      const { raft } = group;
      const leaderView = {
        lastIndex: raft.lastIndex,
        commitIndex: raft.commitIndex,
        progressOf: (n: NodeId) => raft.progressOf(n),
      };
      const step = nextMoveStep(
        this.host.self,
        raft.config,
        target,
        leaderView,
        this.inFlight < this.maxMovesInFlight,
        this.host.isMetadata(group.partition),
      );
      if (step) this.take(group, step);
    }
    this.notifyApplied();
  }

  private take(group: Group, step: MoveStep): void {
    const { partition, raft } = group;
    const fields = { partition, term: raft.term };
    switch (step.kind) {
      case "catchingUp":
        return;
      case "transferLeader":
        if (raft.transferLeader(step.to).ok) {
          this.host.log("store.move_transfer_leader", { ...fields, to: step.to });
          this.host.schedule();
        }
        return;
      case "addLearner":
      case "promote":
      case "remove": {
        const change =
          step.kind === "addLearner"
            ? ({ type: "addLearner", node: step.node } as const)
            : step.kind === "promote"
              ? ({ type: "addVoter", node: step.node } as const)
              : ({ type: "removeNode", node: step.node } as const);
        const result = raft.proposeConfChange(change);
        if (!result.ok) return; // a change is pending, or leadership moved: the next round retries
        this.host.log(`store.move_${step.kind}`, { ...fields, node: step.node, index: result.index });
        if (step.kind === "addLearner") {
          this.counts.learnersAdded++;
          this.inFlight++;
        } else if (step.kind === "promote") this.counts.promoted++;
        else {
          this.counts.removed++;
          this.pending.set(`${partition}:${step.node}`, {
            partition,
            node: step.node,
            index: result.index,
            term: result.term,
          });
        }
        this.host.schedule();
        return;
      }
    }
  }

  /** Tells removed nodes once their removal is applied here; forgets removals that were lost. */
  private notifyApplied(): void {
    const groups = new Map<PartitionId, Group>();
    for (const group of this.host.groups()) groups.set(group.partition, group);
    for (const [key, removal] of this.pending) {
      const raft = groups.get(removal.partition)?.raft;
      if (raft === undefined || raft.appliedIndex < removal.index) {
        if (raft === undefined || raft.role !== "leader") this.pending.delete(key);
        continue;
      }
      this.pending.delete(key);
      const term = raft.termAt(removal.index); // undefined once compacted: it was committed
      if (term !== undefined && term !== removal.term) continue;
      if (raft.config.voters.includes(removal.node) || raft.config.learners.includes(removal.node)) continue;
      this.host.onRemoved(removal.partition, removal.node);
    }
  }
}
