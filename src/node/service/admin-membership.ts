/**
 * Admin's membership calls: Join and RemoveMember run at the metadata group's leader (any node
 * forwards them there, once), EraseReplica at the node a partition's leader removed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { DEFAULT_DEADLINE_MS, FORWARDED_HEADER, leaderHintOf } from "../../client/wire.js";
import type {
  EraseReplicaResponse,
  JoinRequest,
  JoinResponse,
  RemoveMemberRequest,
  RemoveMemberResponse,
} from "../../gen/tinyo/v1/admin_pb.js";
import { parseAddress } from "../config.js";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../ids.js";
import type { MemberList } from "../membership/member-records.js";
import { type Membership, MembershipError } from "../membership/membership.js";
import { NotLeaderError } from "../store/errors.js";
import type { Store } from "../store/store.js";
import { invalidArgument, toConnectError, unavailable } from "./errors.js";
import type { PeerClients } from "./peer-clients.js";

export interface MembershipAdminDeps {
  readonly self: NodeId;
  readonly membership: Membership;
  readonly store: Store;
  readonly peers: PeerClients;
}

const listOf = (members: MemberList) => [...members].map(([node, address]) => ({ node, address }));

export async function join(
  d: MembershipAdminDeps,
  request: JoinRequest,
  context: HandlerContext,
): Promise<JoinResponse> {
  if (request.node < 1) throw invalidArgument(`node id ${request.node} is not valid: ids start at 1`);
  let address: string;
  try {
    address = parseAddress("the joining node's address", request.address).address;
  } catch (error) {
    throw invalidArgument((error as Error).message);
  }
  const { partitions, replication, vnodes } = d.membership.placement;
  const ours = { partitions, replication, vnodes };
  for (const key of ["partitions", "replication", "vnodes"] as const) {
    if (request[key] !== ours[key]) {
      throw new ConnectError(
        `the cluster runs with --${key} ${ours[key]}, node ${request.node} was started with ${request[key]}: ` +
          `start it with --${key} ${ours[key]}`,
        Code.FailedPrecondition,
      );
    }
  }
  const members = await atMetadataLeader(
    d,
    context,
    () => d.membership.add(nodeId(request.node), address),
    (to, options) =>
      d.peers
        .admin(to)
        .join(request, options)
        .then((r) => r.members),
  );
  return { $typeName: "tinyo.v1.JoinResponse", members: membersOf(members), partitions, replication, vnodes };
}

export async function removeMember(
  d: MembershipAdminDeps,
  request: RemoveMemberRequest,
  context: HandlerContext,
): Promise<RemoveMemberResponse> {
  const members = await atMetadataLeader(
    d,
    context,
    () => d.membership.remove(nodeId(request.node)),
    (to, options) =>
      d.peers
        .admin(to)
        .removeMember(request, options)
        .then((r) => r.members),
  );
  return { $typeName: "tinyo.v1.RemoveMemberResponse", members: membersOf(members) };
}

export async function eraseReplica(d: MembershipAdminDeps, partition: number): Promise<EraseReplicaResponse> {
  const p = partitionId(partition) as PartitionId;
  // Erased now, or not hosted here (erased before): either way the leader may stop asking.
  const erased = (await d.store.eraseReplica(p)) || d.store.groupStatus(p) === undefined;
  return { $typeName: "tinyo.v1.EraseReplicaResponse", erased };
}

type Forwarded = { node: number; address: string }[];

function membersOf(members: MemberList | Forwarded) {
  const list = members instanceof Map ? listOf(members) : (members as Forwarded);
  return list.map((m) => ({ $typeName: "tinyo.v1.NodeAddress" as const, node: m.node, address: m.address }));
}

/** Runs `local` at the metadata leader: here if this node leads, else forwarded once to it. */
async function atMetadataLeader(
  d: MembershipAdminDeps,
  context: HandlerContext,
  local: () => Promise<MemberList>,
  forward: (
    to: NodeId,
    options: { headers: Headers; timeoutMs: number; signal: AbortSignal },
  ) => Promise<Forwarded>,
): Promise<MemberList | Forwarded> {
  const metadata = d.membership.metadata;
  const deadline = Date.now() + (context.timeoutMs() ?? DEFAULT_DEADLINE_MS);
  const forwarded = context.requestHeader.has(FORWARDED_HEADER);
  let why = "the metadata group has no leader yet";
  while (Date.now() < deadline && !context.signal.aborted) {
    const leader = d.store.leaderOf(metadata);
    try {
      if (leader === d.self) return await local();
      if (leader !== 0 && forwarded) {
        throw unavailable(
          `node ${d.self} does not lead the metadata group; node ${leader} does`,
          metadata,
          leader,
        );
      }
      if (leader !== 0) {
        const headers = new Headers({ [FORWARDED_HEADER]: String(d.self) });
        return await forward(leader, { headers, timeoutMs: deadline - Date.now(), signal: context.signal });
      }
    } catch (error) {
      if (error instanceof MembershipError && error.kind === "starting") why = error.message;
      else if (error instanceof MembershipError) {
        throw new ConnectError(
          error.message,
          error.kind === "invalid" ? Code.InvalidArgument : Code.FailedPrecondition,
        );
      } else {
        const err = error instanceof NotLeaderError ? toConnectError(error) : ConnectError.from(error);
        if (err.code !== Code.Unavailable || (forwarded && leaderHintOf(err) !== undefined)) throw err;
        why = err.rawMessage;
      }
    }
    await sleep(50, undefined, { signal: context.signal }).catch(() => {});
  }
  throw new ConnectError(`the membership change could not be made in time: ${why}`, Code.Unavailable);
}
