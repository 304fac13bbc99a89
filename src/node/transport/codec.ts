/**
 * Converts the Raft core's plain data (src/node/raft/types.ts) to and from the generated protobuf
 * messages of proto/tinyo/v1/raft.proto, losing nothing, so that a message survives
 * toProto -> toBinary -> fromBinary -> fromProto unchanged.
 *
 * Where it is used: snapshot streams (the snapshot message), Raft.Send and connect-node's generic
 * Raft.Stream (batchFromProto), and tests, for which batchToProto is the reference encoding. The
 * nodes' own peer streams encode and decode batches by hand (batch-wire.ts), to the same bytes,
 * without the costs below.
 *
 * Costs, for appends with many entries:
 * - Entry data is never copied here: toProto puts the entry's Uint8Array in the protobuf message
 *   as is, and fromProto hands on the one protobuf-es decoded. protobuf-es's fromBinary returns
 *   `bytes` fields as subarrays of the buffer it decodes (views, not copies), so decoded entry
 *   data aliases the received request body: whoever keeps it must not reuse that buffer.
 *   protobuf-es's toBinary copies it once per enclosing message as it closes each one (Entry,
 *   RaftMessage, GroupMessage, MessageBatch: four copies in a batch); RaftMessage is flat, like
 *   etcd's raftpb.Message, rather than a oneof of per-type messages, which saves a level.
 * - Terms and indexes are uint64 on the wire, bigint in protobuf-es and number in the core; a
 *   value above 2^53 - 1 cannot be a number and is refused as malformed.
 */

import { create } from "@bufbuild/protobuf";
import * as pb from "../../gen/tinyo/v1/raft_pb.js";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../ids.js";
import type { ConfChange, Config, Entry, Message, MessageType, SnapshotMeta } from "../raft/types.js";

/** A protobuf message that cannot be turned into the core's data; the message says why. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
}

/** A core message and the Raft group it belongs to. */
export interface GroupMessage {
  readonly group: PartitionId;
  readonly message: Message;
}

/** What one node sends to another in one Raft.Send call. */
export interface PeerBatch {
  readonly clusterToken: string;
  readonly from: NodeId;
  readonly messages: readonly GroupMessage[];
}

const EMPTY = new Uint8Array(0);

const TYPE_TO_PROTO: { readonly [T in MessageType]: pb.MessageType } = {
  preVote: pb.MessageType.PRE_VOTE,
  preVoteResp: pb.MessageType.PRE_VOTE_RESP,
  vote: pb.MessageType.VOTE,
  voteResp: pb.MessageType.VOTE_RESP,
  append: pb.MessageType.APPEND,
  appendResp: pb.MessageType.APPEND_RESP,
  heartbeat: pb.MessageType.HEARTBEAT,
  heartbeatResp: pb.MessageType.HEARTBEAT_RESP,
  snapshot: pb.MessageType.SNAPSHOT,
  timeoutNow: pb.MessageType.TIMEOUT_NOW,
  readIndex: pb.MessageType.READ_INDEX,
  readIndexResp: pb.MessageType.READ_INDEX_RESP,
};

const CONF_CHANGE_TO_PROTO: { readonly [T in ConfChange["type"]]: pb.ConfChangeType } = {
  addLearner: pb.ConfChangeType.ADD_LEARNER,
  addVoter: pb.ConfChangeType.ADD_VOTER,
  removeNode: pb.ConfChangeType.REMOVE_NODE,
};

// ---- core -> protobuf ----------------------------------------------------------------------

/**
 * The protobuf form of a core message. A snapshot message keeps only the snapshot's metadata:
 * its data travels separately (Raft.SendSnapshot) and is given back to fromProto.
 */
export function toProto(m: Message): pb.RaftMessage {
  const head = { type: TYPE_TO_PROTO[m.type], from: m.from, to: m.to, term: BigInt(m.term) };
  switch (m.type) {
    case "preVote":
    case "vote":
      return create(pb.RaftMessageSchema, {
        ...head,
        lastLogIndex: BigInt(m.lastLogIndex),
        lastLogTerm: BigInt(m.lastLogTerm),
        transfer: m.transfer,
      });
    case "preVoteResp":
    case "voteResp":
      return create(pb.RaftMessageSchema, { ...head, reject: m.reject });
    case "append":
      return create(pb.RaftMessageSchema, {
        ...head,
        prevIndex: BigInt(m.prevIndex),
        prevTerm: BigInt(m.prevTerm),
        entries: m.entries.map(entryToProto),
        commit: BigInt(m.commit),
      });
    case "appendResp":
      return create(pb.RaftMessageSchema, {
        ...head,
        reject: m.reject,
        index: BigInt(m.index),
        hintIndex: BigInt(m.hintIndex),
        hintTerm: BigInt(m.hintTerm),
      });
    case "heartbeat":
      return create(pb.RaftMessageSchema, { ...head, commit: BigInt(m.commit), readSeq: BigInt(m.readSeq) });
    case "heartbeatResp":
      return create(pb.RaftMessageSchema, { ...head, readSeq: BigInt(m.readSeq) });
    case "snapshot":
      return create(pb.RaftMessageSchema, { ...head, snapshot: snapshotMetaToProto(m.snapshot.meta) });
    case "timeoutNow":
      return create(pb.RaftMessageSchema, head);
    case "readIndex":
      return create(pb.RaftMessageSchema, { ...head, context: m.context });
    case "readIndexResp":
      return create(pb.RaftMessageSchema, { ...head, context: m.context, index: BigInt(m.index) });
  }
}

export function entryToProto(e: Entry): pb.Entry {
  if (e.type === "normal") {
    return create(pb.EntrySchema, {
      type: pb.EntryType.NORMAL,
      term: BigInt(e.term),
      index: BigInt(e.index),
      data: e.data,
    });
  }
  return create(pb.EntrySchema, {
    type: pb.EntryType.CONF_CHANGE,
    term: BigInt(e.term),
    index: BigInt(e.index),
    change: confChangeToProto(e.change),
    config: configToProto(e.config),
  });
}

export function confChangeToProto(c: ConfChange): pb.ConfChange {
  return create(pb.ConfChangeSchema, { type: CONF_CHANGE_TO_PROTO[c.type], node: c.node });
}

export function configToProto(c: Config): pb.Config {
  return create(pb.ConfigSchema, { voters: [...c.voters], learners: [...c.learners] });
}

export function snapshotMetaToProto(meta: SnapshotMeta): pb.SnapshotMeta {
  return create(pb.SnapshotMetaSchema, {
    index: BigInt(meta.index),
    term: BigInt(meta.term),
    config: configToProto(meta.config),
  });
}

export function batchToProto(batch: PeerBatch): pb.MessageBatch {
  return create(pb.MessageBatchSchema, {
    clusterToken: batch.clusterToken,
    fromNode: batch.from,
    messages: batch.messages.map(({ group, message }) =>
      create(pb.GroupMessageSchema, { group, message: toProto(message) }),
    ),
  });
}

// ---- protobuf -> core ----------------------------------------------------------------------

/**
 * The core message a protobuf message carries; throws MalformedMessageError when it is not one.
 * For a snapshot message, `snapshotData` becomes the snapshot's data (it travels separately).
 */
export function fromProto(p: pb.RaftMessage, snapshotData: Uint8Array = EMPTY): Message {
  const what = `RaftMessage ${typeName(p.type)} from ${p.from} to ${p.to}`;
  if (p.from === 0 || p.to === 0) throw malformed(what, "from and to must be node ids (not 0)");
  const from = nodeId(p.from);
  const to = nodeId(p.to);
  const term = toNumber(p.term, what, "term");
  switch (p.type) {
    case pb.MessageType.PRE_VOTE:
    case pb.MessageType.VOTE:
      return {
        type: p.type === pb.MessageType.VOTE ? "vote" : "preVote",
        from,
        to,
        term,
        lastLogIndex: toNumber(p.lastLogIndex, what, "lastLogIndex"),
        lastLogTerm: toNumber(p.lastLogTerm, what, "lastLogTerm"),
        transfer: p.transfer,
      };
    case pb.MessageType.PRE_VOTE_RESP:
    case pb.MessageType.VOTE_RESP:
      return {
        type: p.type === pb.MessageType.VOTE_RESP ? "voteResp" : "preVoteResp",
        from,
        to,
        term,
        reject: p.reject,
      };
    case pb.MessageType.APPEND: {
      const entries: Entry[] = new Array(p.entries.length);
      for (let i = 0; i < entries.length; i++)
        entries[i] = entryFromProto(p.entries[i], `${what}: entries[${i}]`);
      return {
        type: "append",
        from,
        to,
        term,
        prevIndex: toNumber(p.prevIndex, what, "prevIndex"),
        prevTerm: toNumber(p.prevTerm, what, "prevTerm"),
        entries,
        commit: toNumber(p.commit, what, "commit"),
      };
    }
    case pb.MessageType.APPEND_RESP:
      return {
        type: "appendResp",
        from,
        to,
        term,
        reject: p.reject,
        index: toNumber(p.index, what, "index"),
        hintIndex: toNumber(p.hintIndex, what, "hintIndex"),
        hintTerm: toNumber(p.hintTerm, what, "hintTerm"),
      };
    case pb.MessageType.HEARTBEAT:
      return {
        type: "heartbeat",
        from,
        to,
        term,
        commit: toNumber(p.commit, what, "commit"),
        readSeq: toNumber(p.readSeq, what, "readSeq"),
      };
    case pb.MessageType.HEARTBEAT_RESP:
      return { type: "heartbeatResp", from, to, term, readSeq: toNumber(p.readSeq, what, "readSeq") };
    case pb.MessageType.SNAPSHOT: {
      if (p.snapshot === undefined) throw malformed(what, "no snapshot metadata");
      const meta = snapshotMetaFromProto(p.snapshot, `${what}: snapshot`);
      return { type: "snapshot", from, to, term, snapshot: { meta, data: snapshotData } };
    }
    case pb.MessageType.TIMEOUT_NOW:
      return { type: "timeoutNow", from, to, term };
    case pb.MessageType.READ_INDEX:
      return { type: "readIndex", from, to, term, context: p.context };
    case pb.MessageType.READ_INDEX_RESP:
      return {
        type: "readIndexResp",
        from,
        to,
        term,
        context: p.context,
        index: toNumber(p.index, what, "index"),
      };
    default:
      throw malformed(what, "no message type (or one this node does not know)");
  }
}

export function entryFromProto(p: pb.Entry, where = "Entry"): Entry {
  const term = toNumber(p.term, where, "term");
  const index = toNumber(p.index, where, "index");
  switch (p.type) {
    case pb.EntryType.NORMAL:
      if (p.change !== undefined || p.config !== undefined) {
        throw malformed(where, "a normal entry carries a conf change");
      }
      return { type: "normal", term, index, data: p.data };
    case pb.EntryType.CONF_CHANGE:
      if (p.change === undefined) throw malformed(where, "a conf-change entry without its change");
      if (p.config === undefined) throw malformed(where, "a conf-change entry without its resulting config");
      if (p.data.length > 0) throw malformed(where, "a conf-change entry carries data");
      return {
        type: "confChange",
        term,
        index,
        change: confChangeFromProto(p.change, `${where}: change`),
        config: configFromProto(p.config),
      };
    default:
      throw malformed(where, `unknown entry type ${p.type}`);
  }
}

export function confChangeFromProto(p: pb.ConfChange, where = "ConfChange"): ConfChange {
  if (p.node === 0) throw malformed(where, "node must be a node id (not 0)");
  const node = nodeId(p.node);
  switch (p.type) {
    case pb.ConfChangeType.ADD_LEARNER:
      return { type: "addLearner", node };
    case pb.ConfChangeType.ADD_VOTER:
      return { type: "addVoter", node };
    case pb.ConfChangeType.REMOVE_NODE:
      return { type: "removeNode", node };
    default:
      throw malformed(where, `unknown conf change type ${p.type}`);
  }
}

export function configFromProto(p: pb.Config): Config {
  return { voters: p.voters.map(nodeId), learners: p.learners.map(nodeId) };
}

export function snapshotMetaFromProto(p: pb.SnapshotMeta, where = "SnapshotMeta"): SnapshotMeta {
  if (p.config === undefined) throw malformed(where, "no config");
  return {
    index: toNumber(p.index, where, "index"),
    term: toNumber(p.term, where, "term"),
    config: configFromProto(p.config),
  };
}

/**
 * The core messages of a batch; throws MalformedMessageError when one is malformed, lacks its
 * message, or claims to come from another node than the batch.
 */
export function batchFromProto(p: pb.MessageBatch): PeerBatch {
  if (p.fromNode === 0) throw malformed("MessageBatch", "from_node must be a node id (not 0)");
  const messages: GroupMessage[] = new Array(p.messages.length);
  for (let i = 0; i < messages.length; i++) {
    const { group, message } = p.messages[i];
    const where = `MessageBatch from ${p.fromNode}: messages[${i}] (group ${group})`;
    if (message === undefined) throw malformed(where, "no message");
    if (message.from !== p.fromNode) throw malformed(where, `the message claims to be from ${message.from}`);
    messages[i] = { group: partitionId(group), message: fromProto(message) };
  }
  return { clusterToken: p.clusterToken, from: nodeId(p.fromNode), messages };
}

// ---- helpers -------------------------------------------------------------------------------

function toNumber(value: bigint, where: string, field: string): number {
  const n = Number(value);
  if (n > Number.MAX_SAFE_INTEGER) throw malformed(where, `${field} ${value} exceeds 2^53 - 1`);
  return n;
}

function typeName(type: pb.MessageType): string {
  return pb.MessageType[type] ?? `type ${type}`;
}

function malformed(where: string, why: string): MalformedMessageError {
  return new MalformedMessageError(`malformed ${where}: ${why}`);
}
