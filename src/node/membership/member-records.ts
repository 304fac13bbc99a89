/**
 * The member list as the metadata group's state machine holds it: one key per member,
 * `member/<id>` (the id as 10 decimal digits, so that keys sort by id) -> "host:port", and the
 * key `founded`, written after the founding members: a list without it is a founding list
 * being written (one member per entry), never to be used. Changes are
 * ordinary put and delete commands proposed to the metadata group (partition Q), so the member
 * list is replicated, persisted, snapshotted and restored like any partition's data.
 */
import { type NodeId, nodeId, type PartitionId } from "../ids.js";
import { encodeCommand } from "../storage/commands.js";

const PREFIX = "member/";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Node id -> host:port, ascending by id. */
export type MemberList = ReadonlyMap<NodeId, string>;

const memberKey = (id: NodeId): Uint8Array => encoder.encode(`${PREFIX}${String(id).padStart(10, "0")}`);

export const putMember = (id: NodeId, address: string): Uint8Array =>
  encodeCommand({ type: "put", key: memberKey(id), value: encoder.encode(address) });

export const deleteMember = (id: NodeId): Uint8Array => encodeCommand({ type: "delete", key: memberKey(id) });

const FOUNDED_KEY = encoder.encode("founded");

/** Written after the founding members: from then on the list is whole. */
export const markFounded = (): Uint8Array =>
  encodeCommand({ type: "put", key: FOUNDED_KEY, value: new Uint8Array(0) });

/** What reading the member list needs of the state machine. */
export interface MemberSource {
  scan(
    partition: PartitionId,
    range: { readonly prefix: Uint8Array },
    limit: number,
  ): Promise<{ entries: { key: Uint8Array; value: Uint8Array }[]; more: boolean }>;
  get(partition: PartitionId, key: Uint8Array): Promise<Uint8Array | undefined>;
}

/** At most this many members: a cluster is a few nodes to a few hundred. */
export const MAX_MEMBERS = 10_000;

/**
 * The members the metadata group's replica on this node has applied: empty until the founding
 * list is whole.
 */
export async function readMembers(source: MemberSource, metadata: PartitionId): Promise<MemberList> {
  if ((await source.get(metadata, FOUNDED_KEY)) === undefined) return new Map();
  const { entries } = await source.scan(metadata, { prefix: encoder.encode(PREFIX) }, MAX_MEMBERS);
  return new Map(
    entries.map(({ key, value }) => [
      nodeId(Number(decoder.decode(key).slice(PREFIX.length))),
      decoder.decode(value),
    ]),
  );
}

export const sameMembers = (a: MemberList, b: MemberList): boolean =>
  a.size === b.size && [...a].every(([id, address]) => b.get(id) === address);
