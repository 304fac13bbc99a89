/**
 * The next Raft membership change that brings one partition's configuration toward its target
 * (the placement's preference list), as its leader sees it. Pure: it reads the configuration and
 * the leader's view of its followers and decides; the replica mover (replica-mover.ts) acts.
 *
 * One change at a time, always adding before removing, so a partition never has fewer voters
 * than its target, and so never fewer than a quorum of it:
 *   1. a learner that the target wants as a voter: promote it once caught up (its match within
 *      CATCH_UP_SLACK of the leader's last index), else wait for it;
 *   2. a target member that is not in the configuration at all: add it as a learner (a new move,
 *      allowed only while the node has room for another move in flight);
 *   3. a voter the target does not want: remove it once every target voter is a voter; if that
 *      voter is the leader itself, hand leadership to a caught-up target voter first (the new
 *      leader's mover then removes this node);
 *   4. a learner the target does not want: remove it.
 * With `removedCatchUp` (the metadata group), a live member is removed only once it has every
 * committed entry: the entry that took it out of the member list is how it learns that it is
 * no longer a member, and it must not be cut off before.
 */
import type { NodeId } from "../ids.js";
import type { Config } from "../raft/types.js";

/** How far behind the leader's last index a learner may be and still be promoted. */
export const CATCH_UP_SLACK = 64;

export type MoveStep =
  | { readonly kind: "addLearner"; readonly node: NodeId }
  | { readonly kind: "promote"; readonly node: NodeId }
  /** A learner is catching up (log or snapshot): a move in flight, nothing to do yet. */
  | { readonly kind: "catchingUp"; readonly node: NodeId }
  | { readonly kind: "remove"; readonly node: NodeId }
  | { readonly kind: "transferLeader"; readonly to: NodeId };

export interface LeaderProgress {
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** The leader's view of a member: match index, and whether it answered lately. */
  progressOf(node: NodeId): { readonly match: number; readonly recentActive: boolean } | undefined;
}

export function nextMoveStep(
  self: NodeId,
  config: Config,
  target: Config,
  leader: LeaderProgress,
  mayStartMove: boolean,
  removedCatchUp = false,
): MoveStep | undefined {
  const { voters, learners } = config;
  const inConfig = (n: NodeId) => voters.includes(n) || learners.includes(n);
  const caughtUp = (n: NodeId) => {
    const p = leader.progressOf(n);
    return p?.recentActive && p.match + CATCH_UP_SLACK >= leader.lastIndex;
  };
  const mayRemove = (n: NodeId) => {
    if (!removedCatchUp) return true;
    const p = leader.progressOf(n);
    return !p?.recentActive || p.match >= leader.commitIndex;
  };

  for (const node of learners) {
    if (!target.voters.includes(node)) continue;
    return caughtUp(node) ? { kind: "promote", node } : { kind: "catchingUp", node };
  }
  for (const node of [...target.voters, ...target.learners]) {
    if (inConfig(node)) continue;
    return mayStartMove ? { kind: "addLearner", node } : undefined;
  }
  const unwanted = voters.filter((n) => !target.voters.includes(n));
  if (unwanted.length > 0 && target.voters.every((n) => voters.includes(n))) {
    const others = unwanted.filter((n) => n !== self);
    if (others.length > 0) {
      const node = others.find(mayRemove);
      return node === undefined ? undefined : { kind: "remove", node };
    }
    let best: { node: NodeId; match: number } | undefined;
    for (const node of target.voters) {
      const p = leader.progressOf(node);
      if (!p?.recentActive || !caughtUp(node)) continue;
      if (best === undefined || p.match > best.match) best = { node, match: p.match };
    }
    return best && { kind: "transferLeader", to: best.node };
  }
  for (const node of learners) {
    if (!target.voters.includes(node) && !target.learners.includes(node) && mayRemove(node)) {
      return { kind: "remove", node };
    }
  }
  return undefined;
}
