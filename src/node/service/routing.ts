/**
 * Where a client request for a partition is served, and the retries that get it there within
 * its deadline:
 * - a write is served by the partition's leader: here when this node leads, else forwarded to
 *   the leader this node knows of (a replica knows it from its Raft group; a non-replica from
 *   the answers of earlier forwards, and until then it tries the partition's replicas in turn);
 * - a read is served by any replica (ReadIndex makes a follower's read linearizable): here when
 *   this node is one, else forwarded to the leader or another replica.
 * While no leader is known (an election), or the leader moved, or a forward found the peer
 * down, it retries with a short backoff until the deadline, then answers Unavailable naming the
 * partition and the leader hint. A forwarded request is never forwarded again: a node that
 * cannot serve it answers Unavailable with its leader hint, and the forwarding node retries.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { backoffMs, DEFAULT_DEADLINE_MS, FORWARDED_HEADER, leaderHintOf } from "../../client/wire.js";
import type { NodeId, PartitionId } from "../ids.js";
import type { Placement } from "../ring/index.js";
import { NotLeaderError } from "../store/errors.js";
import type { Store } from "../store/store.js";
import { isRetryable, toConnectError, unavailable } from "./errors.js";

/** How long a forwarded request may wait here for a leader before handing the retry back. */
const FORWARDED_WAIT_MS = 1000;

/**
 * What routing needs of the call that carries a request: a unary call's HandlerContext, or the
 * Batch stream's (each of its requests gets the stream's remaining deadline, or the default).
 */
export type RequestContext = Pick<HandlerContext, "requestHeader" | "timeoutMs" | "signal">;

/** One request's routing state. */
export interface Route {
  readonly partition: PartitionId;
  /** Epoch milliseconds. */
  readonly deadline: number;
  /** Until when to retry (wait for a leader) here: the deadline, or sooner for a forwarded request. */
  readonly retryUntil: number;
  readonly signal: AbortSignal;
  /** Set when another node forwarded the request here. */
  readonly forwarded: boolean;
}

/** What a forward needs: the peer, and the call options that carry the deadline and the mark. */
export interface ForwardCall {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly headers: Headers;
}

export class Routing {
  /** Leaders of partitions this node does not replicate, learned from forwards' answers. */
  private readonly hints = new Map<PartitionId, { leader: NodeId; term: number }>();

  constructor(
    private readonly self: NodeId,
    private readonly store: Store,
    /** The current placement (it changes with the member list). */
    private readonly placement: () => Placement,
  ) {}

  /** The routing state of a request arriving with `context`. */
  route(partition: PartitionId, context: RequestContext): Route {
    const forwarded = context.requestHeader.has(FORWARDED_HEADER);
    const timeout = context.timeoutMs() ?? DEFAULT_DEADLINE_MS;
    const wait = forwarded ? Math.min(timeout, FORWARDED_WAIT_MS) : timeout;
    const now = Date.now();
    return { partition, deadline: now + timeout, retryUntil: now + wait, signal: context.signal, forwarded };
  }

  isReplica(partition: PartitionId): boolean {
    return this.store.groupStatus(partition) !== undefined;
  }

  /** The leader this node knows of for the partition, and the term of that knowledge. */
  leaderOf(partition: PartitionId): { leader: NodeId | 0; term: number } {
    const status = this.store.groupStatus(partition);
    if (status) return { leader: status.leader, term: status.term };
    return this.hints.get(partition) ?? { leader: 0, term: 0 };
  }

  /** Records a leader named by another node's answer (for partitions not replicated here). */
  noteLeader(partition: PartitionId, leader: number, term = 0): void {
    if (leader <= 0 || this.isReplica(partition) || !this.placement().members.includes(leader as NodeId))
      return;
    const known = this.hints.get(partition);
    if (known && term > 0 && known.term > term) return;
    this.hints.set(partition, { leader: leader as NodeId, term: Math.max(term, known?.term ?? 0) });
  }

  /** Serves a write at the leader: `local` here when this node leads, else `forward` to it. */
  write<T>(
    route: Route,
    local: () => Promise<T>,
    forward: (to: NodeId, call: ForwardCall) => Promise<T>,
  ): Promise<T> {
    return this.retry(route, async (rotation) => {
      const { partition } = route;
      const replica = this.isReplica(partition);
      const leader = this.leaderOf(partition).leader;
      if (leader === this.self) return { done: true, value: await this.bounded(route, local(), "write") };
      if (route.forwarded) {
        if (leader === 0 && replica) return { done: false, why: `partition ${partition} has no leader yet` };
        throw unavailable(
          leader === 0
            ? `node ${this.self} does not know the leader of partition ${partition}; retry shortly`
            : `node ${this.self} does not lead partition ${partition}; node ${leader} does`,
          partition,
          leader,
        );
      }
      if (leader === 0 && replica) return { done: false, why: `partition ${partition} has no leader yet` };
      const target = leader !== 0 ? leader : this.replicaAt(partition, rotation);
      return { done: true, value: await this.forward(route, target, forward) };
    });
  }

  /** Serves a read at a replica: `local` here when this node is one, else `forward`. */
  read<T>(
    route: Route,
    local: () => Promise<T>,
    forward: (to: NodeId, call: ForwardCall) => Promise<T>,
  ): Promise<T> {
    return this.retry(route, async (rotation) => {
      const { partition } = route;
      if (this.isReplica(partition)) return { done: true, value: await this.bounded(route, local(), "read") };
      if (route.forwarded) {
        throw unavailable(
          `node ${this.self} has no replica of partition ${partition}`,
          partition,
          this.leaderOf(partition).leader,
        );
      }
      const leader = this.leaderOf(partition).leader;
      const target = leader !== 0 ? leader : this.replicaAt(partition, rotation);
      return { done: true, value: await this.forward(route, target, forward) };
    });
  }

  private async forward<T>(
    route: Route,
    to: NodeId,
    forward: (to: NodeId, call: ForwardCall) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = route.deadline - Date.now();
    if (timeoutMs <= 0) throw new ConnectError("deadline reached", Code.DeadlineExceeded);
    const headers = new Headers({ [FORWARDED_HEADER]: String(this.self) });
    try {
      return await forward(to, { timeoutMs, signal: route.signal, headers });
    } catch (error) {
      const err = ConnectError.from(error);
      if (err.code === Code.Unavailable) {
        const hint = leaderHintOf(err);
        if (hint !== undefined) this.noteLeader(route.partition, hint);
        else if (this.hints.get(route.partition)?.leader === to) this.hints.delete(route.partition);
        throw unavailable(`node ${to}: ${err.rawMessage}`, route.partition, (hint ?? 0) as NodeId | 0);
      }
      throw err;
    }
  }

  /** The partition's replicas other than this node, in turn. */
  private replicaAt(partition: PartitionId, rotation: number): NodeId {
    const others = this.placement()
      .preferenceList(partition)
      .filter((n) => n !== this.self);
    return others[rotation % others.length] as NodeId;
  }

  /**
   * Waits for `work` within bounds: a write until the request's deadline (then its outcome is
   * unknown: DeadlineExceeded), a read until the retry bound (then Unavailable: it is safe to
   * retry, elsewhere if this replica cannot reach its leader).
   */
  private async bounded<T>(route: Route, work: Promise<T>, kind: "read" | "write"): Promise<T> {
    const { partition } = route;
    const error = (): ConnectError =>
      kind === "write"
        ? new ConnectError(
            `the write to partition ${partition} was not confirmed before the deadline; it may still take ` +
              "effect (a retry with the same request_id applies it at most once)",
            Code.DeadlineExceeded,
          )
        : unavailable(`partition ${partition} could not confirm the read in time`, partition, 0);
    const remaining = (kind === "write" ? route.deadline : route.retryUntil) - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(error()), Math.max(remaining, 0));
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      work.catch(() => {}); // a late failure of an abandoned read is nobody's business
    }
  }

  private async retry<T>(
    route: Route,
    attempt: (rotation: number) => Promise<{ done: true; value: T } | { done: false; why: string }>,
  ): Promise<T> {
    let why = "waiting for the partition";
    const giveUp = () => {
      const { leader } = this.leaderOf(route.partition);
      return unavailable(
        `partition ${route.partition} could not be served before the deadline: ${why}`,
        route.partition,
        leader,
      );
    };
    for (let n = 0; ; n++) {
      // The call's signal fires at its deadline (and when the client goes away, when nobody reads
      // the answer): say Unavailable with the partition and leader hint, as when retryUntil passes.
      if (route.signal.aborted) throw giveUp();
      try {
        const result = await attempt(n);
        if (result.done) return result.value;
        why = result.why;
      } catch (error) {
        // A forwarded request's own Unavailable answers (with the leader hint) go back at once;
        // the store's "not now" errors are retried here, where the next attempt re-routes.
        if (!isRetryable(error) || (route.forwarded && error instanceof ConnectError)) {
          throw toConnectError(error);
        }
        if (error instanceof NotLeaderError) this.noteLeader(route.partition, error.leader);
        why = error instanceof ConnectError ? error.rawMessage : (error as Error).message;
      }
      const remaining = route.retryUntil - Date.now();
      if (remaining <= 0) throw giveUp();
      await sleep(Math.min(backoffMs(n), remaining), undefined, { signal: route.signal }).catch(() => {});
    }
  }
}
