/**
 * tinyo.v1.Admin: this node's status (once, or pushed until cancelled; with the peer transport's
 * counters), the routing table as this node knows it, leader transfer, and fault injection
 * (delegated to the peer transport). Who may call what: admin-auth.ts.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { DEFAULT_DEADLINE_MS, FORWARDED_HEADER, leaderHintOf } from "../../client/wire.js";
import {
  type Admin,
  type FaultRule,
  type NodeStatus,
  NodeStatusSchema,
  OpStatsSchema,
  Role,
} from "../../gen/tinyo/v1/admin_pb.js";
import { type NodeId, nodeId, partitionId } from "../ids.js";
import type { Membership } from "../membership/membership.js";
import type { Role as RaftRole } from "../raft/types.js";
import type { Store } from "../store/store.js";
import type { TransportStats } from "../transport/peer-transport.js";
import { eraseReplica, join, removeMember } from "./admin-membership.js";
import { invalidArgument, toConnectError, unavailable } from "./errors.js";
import type { OpStats, OpSummary } from "./op-stats.js";
import type { PeerClients } from "./peer-clients.js";
import type { Routing } from "./routing.js";
import { transportStatus } from "./transport-status.js";

/** What Admin needs of the peer transport. */
export interface FaultControl {
  setFaults(rules: readonly FaultRule[]): void;
  clearFaults(): void;
  faults(): readonly FaultRule[];
}

export interface AdminServiceDeps {
  readonly self: NodeId;
  /** host:port of this node. */
  readonly address: string;
  /** The member list and placement this node applies. */
  readonly membership: Membership;
  readonly store: Store;
  readonly routing: Routing;
  readonly peers: PeerClients;
  readonly faults: FaultControl;
  /** The peer transport's counters, for Status. */
  readonly transport: { stats(): TransportStats };
  readonly stats: { readonly puts: OpStats; readonly gets: OpStats };
  /** Aborted at shutdown: ends the WatchStatus streams. */
  readonly shutdown: AbortSignal;
  readonly startedAt: number;
  /** host:port of the Prometheus endpoint, if the node serves one. */
  readonly metricsAddress?: string;
}

const ROLES: { readonly [R in RaftRole]: Role } = {
  follower: Role.FOLLOWER,
  preCandidate: Role.PRE_CANDIDATE,
  candidate: Role.CANDIDATE,
  leader: Role.LEADER,
};

const WATCH_DEFAULT_MS = 1000;
const WATCH_MIN_MS = 100;

export function createAdminService(d: AdminServiceDeps): ServiceImpl<typeof Admin> {
  const opStats = (s: OpSummary) =>
    create(OpStatsSchema, {
      opsPerSecond: s.opsPerSecond,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      total: BigInt(s.total),
      latencyHistogram: s.histogram,
    });

  const status = (): NodeStatus =>
    create(NodeStatusSchema, {
      node: d.self,
      address: d.address,
      uptimeMs: BigInt(Math.max(0, Date.now() - d.startedAt)),
      groups: d.store
        .status()
        .filter((g) => g.partition !== d.membership.metadata)
        .map((g) => ({
          partition: g.partition,
          role: ROLES[g.role as RaftRole] ?? Role.UNSPECIFIED,
          term: BigInt(g.term),
          leader: g.leader,
          commitIndex: BigInt(g.commitIndex),
          appliedIndex: BigInt(g.appliedIndex),
          lastIndex: BigInt(g.lastIndex),
          replicas: [...g.voters],
          learners: [...g.learners],
          firstIndex: BigInt(g.firstIndex),
          snapshotsInstalled: BigInt(g.snapshotsInstalled),
          snapshotsSent: BigInt(g.snapshotsSent),
          leaderChanges: BigInt(g.leaderChanges),
        })),
      puts: opStats(d.stats.puts.summary()),
      gets: opStats(d.stats.gets.summary()),
      faults: [...d.faults.faults()],
      pid: process.pid,
      metricsAddress: d.metricsAddress ?? "",
      members: [...d.membership.members].map(([node, address]) => ({ node, address })),
      membershipVersion: BigInt(d.membership.version),
      moves: moveStats(),
      transport: transportStatus(d.transport.stats()),
    });

  const moveStats = () => {
    const m = d.store.moveStats();
    return {
      inFlight: m.inFlight,
      learnersAdded: BigInt(m.learnersAdded),
      promoted: BigInt(m.promoted),
      removed: BigInt(m.removed),
    };
  };

  return {
    status() {
      return { status: status() };
    },

    async *watchStatus(request, context) {
      const interval =
        request.intervalMs === 0 ? WATCH_DEFAULT_MS : Math.max(WATCH_MIN_MS, request.intervalMs);
      const signal = AbortSignal.any([context.signal, d.shutdown]);
      while (!signal.aborted) {
        yield { status: status() };
        try {
          await sleep(interval, undefined, { signal });
        } catch {
          return;
        }
      }
    },

    routes() {
      const placement = d.membership.placement;
      const { partitions } = placement;
      const routes = [];
      for (let p = 0; p < partitions; p++) {
        const partition = partitionId(p);
        const { leader, term } = d.routing.leaderOf(partition);
        routes.push({
          partition,
          replicas: [...placement.preferenceList(partition)],
          leader,
          term: BigInt(term),
        });
      }
      const nodes = [...d.membership.members].map(([node, address]) => ({ node, address }));
      return { partitions, routes, nodes };
    },

    async transferLeader(request, context) {
      try {
        return await transferLeader(d, request.partition, request.to, context);
      } catch (error) {
        throw toConnectError(error);
      }
    },

    setFaults(request) {
      try {
        d.faults.setFaults(request.rules);
      } catch (error) {
        if (error instanceof RangeError) throw invalidArgument(error.message);
        throw toConnectError(error);
      }
      return {};
    },

    clearFaults() {
      d.faults.clearFaults();
      return {};
    },

    async join(request, context) {
      try {
        return await join(d, request, context);
      } catch (error) {
        throw toConnectError(error);
      }
    },

    async removeMember(request, context) {
      try {
        return await removeMember(d, request, context);
      } catch (error) {
        throw toConnectError(error);
      }
    },

    async eraseReplica(request) {
      try {
        return await eraseReplica(d, request.partition);
      } catch (error) {
        throw toConnectError(error);
      }
    },
  };
}

/**
 * Moves the partition's leadership to `to`: here when this node leads, else forwarded (once) to
 * the leader. Returns when this node sees `to` lead, or fails at the deadline.
 */
async function transferLeader(
  d: AdminServiceDeps,
  rawPartition: number,
  rawTo: number,
  context: HandlerContext,
) {
  const placement = d.membership.placement;
  if (rawPartition >= placement.partitions) {
    throw invalidArgument(
      `partition ${rawPartition} does not exist: partitions are 0 to ${placement.partitions - 1}`,
    );
  }
  const partition = partitionId(rawPartition);
  const to = nodeId(rawTo);
  const voters = d.store.groupStatus(partition)?.voters ?? placement.preferenceList(partition);
  if (!voters.includes(to)) {
    throw invalidArgument(
      `node ${rawTo} is not a replica of partition ${partition}: its replicas are ${voters.join(", ")}`,
    );
  }
  const deadline = Date.now() + (context.timeoutMs() ?? DEFAULT_DEADLINE_MS);
  const forwarded = context.requestHeader.has(FORWARDED_HEADER);
  let requestedAt = Number.NEGATIVE_INFINITY;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const { leader, term } = d.routing.leaderOf(partition);
    if (leader === to) return { leader, term: BigInt(term) };
    if (leader === d.self) {
      // Asked again if a transfer was abandoned (it must finish within an election timeout).
      if (Date.now() - requestedAt > 2000) {
        d.store.transferLeader(partition, to);
        requestedAt = Date.now();
      }
    } else if (forwarded && leader !== 0) {
      throw unavailable(
        `node ${d.self} does not lead partition ${partition}; node ${leader} does`,
        partition,
        leader,
      );
    } else if (!forwarded && (leader !== 0 || !d.routing.isReplica(partition))) {
      const target = leader !== 0 ? leader : (voters[attempt % voters.length] as NodeId);
      const headers = new Headers({ [FORWARDED_HEADER]: String(d.self) });
      try {
        return await d.peers
          .admin(target)
          .transferLeader(
            { partition, to },
            { headers, timeoutMs: deadline - Date.now(), signal: context.signal },
          );
      } catch (error) {
        const err = ConnectError.from(error);
        if (err.code !== Code.Unavailable) throw err;
        const hint = leaderHintOf(err);
        if (hint !== undefined) d.routing.noteLeader(partition, hint);
      }
    }
    await sleep(20, undefined, { signal: context.signal }).catch(() => {});
  }
  throw new ConnectError(
    `partition ${partition}: node ${to} did not take over leadership before the deadline`,
    Code.DeadlineExceeded,
  );
}
