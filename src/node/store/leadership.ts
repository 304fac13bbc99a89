/**
 * Moving leadership on purpose, with Raft's leader transfer (TimeoutNow: the target campaigns at
 * once, without waiting for an election timeout):
 *
 * - Balancing: every node knows which replica should lead each partition (balancedLeaders, a
 *   pure function of the placement). A leader hands a partition to that replica once it has led
 *   it for a while (so that a fresh election, or a person's TransferLeader, is not undone at
 *   once) and the replica is caught up (so that the transfer, which holds back new proposals
 *   until it ends, takes a round trip and not an election timeout). One transfer per node per
 *   round: a node that comes back takes its partitions back gradually, not all at once.
 * - Hand-off before a planned stop: every partition this node leads goes to its most caught-up
 *   voter, so that stopping a node costs its partitions a round trip, not an election timeout.
 *
 * Both read a leader's view of its followers (RaftNode.progressOf) and change nothing themselves.
 */
import type { NodeId } from "../ids.js";
import type { RaftNode } from "../raft/raft.js";

type LeaderView = Pick<RaftNode, "role" | "commitIndex" | "config" | "progressOf">;

/** The voter to give leadership to before stopping: the most caught up, `preferred` on a tie. */
export function handOffTarget(raft: LeaderView, self: NodeId, preferred: NodeId): NodeId | undefined {
  if (raft.role !== "leader") return undefined;
  let best: { node: NodeId; match: number } | undefined;
  for (const node of raft.config.voters) {
    const progress = node === self ? undefined : raft.progressOf(node);
    if (progress?.state !== "replicate" || !progress.recentActive) continue;
    const better =
      best === undefined ||
      progress.match > best.match ||
      (progress.match === best.match && node === preferred);
    if (better) best = { node, match: progress.match };
  }
  return best?.node;
}

/**
 * The replica to hand this partition to for balance, if now is the time: this node leads it, has
 * for at least `holdMs`, and the balanced leader is another voter that answers and has everything
 * committed (a dead replica's match can equal the commit index while nothing is written).
 */
export function balanceTarget(
  raft: LeaderView,
  self: NodeId,
  balanced: NodeId | undefined,
  ledForMs: number,
  holdMs: number,
): NodeId | undefined {
  if (raft.role !== "leader" || balanced === undefined || balanced === self || ledForMs < holdMs) {
    return undefined;
  }
  if (!raft.config.voters.includes(balanced)) return undefined;
  const progress = raft.progressOf(balanced);
  const caughtUp =
    progress?.state === "replicate" && progress.recentActive && progress.match >= raft.commitIndex;
  if (!caughtUp) return undefined;
  return balanced;
}
