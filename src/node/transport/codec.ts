/**
 * Converts the Raft core's plain data (src/node/raft/types.ts) to and from the generated protobuf
 * messages of proto/tinyo/v1/raft.proto, losing nothing, so that a message survives
 * toProto -> toBinary -> fromBinary -> fromProto unchanged.
 *
 * Where it is used: where connect-node hands over (or takes) protobuf-es objects: the first chunk
 * of a snapshot stream (the snapshot message), and Raft.Send and Raft.Stream when connect-node
 * serves them (a client other than a tinyo node, or another encoding than binary protobuf);
 * and tests, for which batchToProto is the reference encoding. Decoding goes through
 * raft-fields.ts, as the hand-written codec's does (batch-wire.ts, which the nodes use for their
 * peer streams and Raft.Send, to the same bytes, without the costs below).
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
import { nodeId } from "../ids.js";
import type { ConfChange, Config, Entry, Message, MessageType, SnapshotMeta } from "../raft/types.js";
import {
  batchFromFields,
  EMPTY,
  type EntryFields,
  type MessageFields,
  messageFromFields,
  type PeerBatch,
} from "./raft-fields.js";

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
// The protobuf-es objects become raft.proto's fields, which raft-fields.ts decodes as it does
// the fields batch-wire.ts reads from bytes: one decoding, one set of checks and messages.

/**
 * The core message a protobuf message carries; throws MalformedMessageError when it is not one.
 * For a snapshot message, `snapshotData` becomes the snapshot's data (it travels separately).
 */
export function fromProto(p: pb.RaftMessage, snapshotData: Uint8Array = EMPTY): Message {
  return messageFromFields(messageFields(p), snapshotData);
}

/**
 * The core messages of a batch; throws MalformedMessageError when one is malformed, lacks its
 * message, or claims to come from another node than the batch.
 */
export function batchFromProto(p: pb.MessageBatch): PeerBatch {
  return batchFromFields(
    p.clusterToken,
    p.fromNode,
    p.messages.map((m) => ({ group: m.group, message: m.message && messageFields(m.message) })),
  );
}

/** Terms and indexes as numbers: one above 2^53 - 1 stays above it, and is refused as such. */
function messageFields(p: pb.RaftMessage): MessageFields {
  return {
    type: p.type,
    from: p.from,
    to: p.to,
    term: Number(p.term),
    lastLogIndex: Number(p.lastLogIndex),
    lastLogTerm: Number(p.lastLogTerm),
    transfer: p.transfer,
    reject: p.reject,
    prevIndex: Number(p.prevIndex),
    prevTerm: Number(p.prevTerm),
    entries: p.entries.map(entryFields),
    commit: Number(p.commit),
    index: Number(p.index),
    hintIndex: Number(p.hintIndex),
    hintTerm: Number(p.hintTerm),
    readSeq: Number(p.readSeq),
    snapshot: p.snapshot && {
      index: Number(p.snapshot.index),
      term: Number(p.snapshot.term),
      config: p.snapshot.config && configFromProto(p.snapshot.config),
    },
    context: p.context,
  };
}

function entryFields(p: pb.Entry): EntryFields {
  return {
    type: p.type,
    term: Number(p.term),
    index: Number(p.index),
    data: p.data,
    change: p.change && { type: p.change.type, node: p.change.node },
    config: p.config && configFromProto(p.config),
  };
}

function configFromProto(p: pb.Config): Config {
  return { voters: p.voters.map(nodeId), learners: p.learners.map(nodeId) };
}
