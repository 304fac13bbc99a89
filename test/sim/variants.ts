/**
 * Deliberately broken members, each overriding one of the core's protected rule points, so
 * that the tests can prove the simulator notices when a safety rule is missing. Production
 * code has no switch for any of this: the breakage lives in these subclasses only.
 */
import { type PendingRead, RaftNode } from "../../src/node/raft/raft.js";
import type { MemberFactory } from "./host.js";

/** Votes (and pre-votes) granted without the election restriction of §5.4.1. */
class GrantsStaleVotes extends RaftNode {
  protected override isLogUpToDate(_lastIndex: number, _lastTerm: number): boolean {
    return true;
  }
}

/** Commits an entry of an earlier term by counting replicas: the bug of Figure 8 (§5.4.2). */
class CommitsOldTerms extends RaftNode {
  protected override isCommittable(_index: number): boolean {
    return true;
  }
}

/** Serves ReadIndex at once, without confirming with a quorum that it still leads. */
class ReadsWithoutHeartbeat extends RaftNode {
  protected override beginReadRound(read: PendingRead): void {
    this.releaseRead(read);
  }
}

/** Serves lease reads whenever it leads, as if a lease never ran out (no clock, no quorum). */
class LeasesForever extends RaftNode {
  protected override holdsLease(): boolean {
    return true;
  }
}

export const variants = {
  staleVotes: (options, state) => new GrantsStaleVotes(options, state),
  commitOldTerms: (options, state) => new CommitsOldTerms(options, state),
  readWithoutHeartbeat: (options, state) => new ReadsWithoutHeartbeat(options, state),
  leaseForever: (options, state) => new LeasesForever(options, state),
} satisfies Record<string, MemberFactory>;

export type VariantName = keyof typeof variants;

export const isVariantName = (name: string): name is VariantName => Object.hasOwn(variants, name);
