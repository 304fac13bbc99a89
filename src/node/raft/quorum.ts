import type { NodeId } from "./types.js";

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest value that a quorum of voters has reached: with matches sorted from high to low,
 * the one at position quorum - 1. Used for the commit index and for ReadIndex rounds.
 */
export function quorumValue(voters: readonly NodeId[], reached: (voter: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const values = voters.map(reached).sort((a, b) => b - a);
  return values[quorumSize(voters.length) - 1] as number;
}

export type VoteOutcome = "won" | "lost" | "pending";

export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const vote = votes.get(v);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return "won";
  if (rejected >= q) return "lost";
  return "pending";
}
