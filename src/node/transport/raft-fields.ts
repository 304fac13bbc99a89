/**
 * RaftMessage and MessageBatch (proto/tinyo/v1/raft.proto) as their fields, and the one
 * decoding of those fields into the Raft core's data, with its checks and error messages.
 *
 * Two readers produce the fields: batch-wire.ts straight from the bytes (the peer streams and
 * Raft.Send), and codec.ts from the protobuf-es objects that connect-node hands over (its
 * generic Raft.Stream and Raft.Send, and the first chunk of a snapshot stream). Both end here,
 * so a batch is accepted or refused, with the same message, whichever way it arrived.
 */

import { type NodeId, nodeId, type PartitionId, partitionId } from "../ids.js";
import type { ConfChange, Config, Entry, Message, SnapshotMeta } from "../raft/types.js";

/** Bytes, or a protobuf message, that cannot be turned into the core's data; the message says why. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
}

/** A core message and the Raft group it belongs to. */
export interface GroupMessage {
  readonly group: PartitionId;
  readonly message: Message;
}

/** What one node sends to another in one batch (a Raft.Stream message, or a Raft.Send call). */
export interface PeerBatch {
  readonly clusterToken: string;
  readonly from: NodeId;
  readonly messages: readonly GroupMessage[];
}

/**
 * A RaftMessage's fields as read (zero when absent). Terms and indexes are numbers, possibly
 * above 2^53 - 1 (never rounded below it): such a value is refused here.
 */
export interface MessageFields {
  type: number;
  from: number;
  to: number;
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
  transfer: boolean;
  reject: boolean;
  prevIndex: number;
  prevTerm: number;
  entries: EntryFields[];
  commit: number;
  index: number;
  hintIndex: number;
  hintTerm: number;
  readSeq: number;
  snapshot: SnapshotMetaFields | undefined;
  context: string;
}

export interface EntryFields {
  type: number;
  term: number;
  index: number;
  data: Uint8Array;
  change: { type: number; node: number } | undefined;
  config: Config | undefined;
}

export interface SnapshotMetaFields {
  index: number;
  term: number;
  config: Config | undefined;
}

/** A GroupMessage's fields: its message undefined when absent. */
export interface GroupMessageFields {
  readonly group: number;
  readonly message: MessageFields | undefined;
}

export const EMPTY = new Uint8Array(0);

const ENTRY_NORMAL = 1;
const ENTRY_CONF_CHANGE = 2;

/** As protobuf-es names raft.proto's MessageType values. */
const MESSAGE_TYPE_NAME = [
  "UNSPECIFIED",
  "PRE_VOTE",
  "PRE_VOTE_RESP",
  "VOTE",
  "VOTE_RESP",
  "APPEND",
  "APPEND_RESP",
  "HEARTBEAT",
  "HEARTBEAT_RESP",
  "SNAPSHOT",
  "TIMEOUT_NOW",
  "READ_INDEX",
  "READ_INDEX_RESP",
];

/**
 * The core messages of a MessageBatch; throws MalformedMessageError when from_node is 0, a
 * message is missing, claims another sender than the batch, or is malformed.
 */
export function batchFromFields(
  clusterToken: string,
  from: number,
  messages: readonly GroupMessageFields[],
): PeerBatch {
  if (from === 0) throw malformed("MessageBatch", "from_node must be a node id (not 0)");
  const out: GroupMessage[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const { group, message } = messages[i] as GroupMessageFields;
    const where = `MessageBatch from ${from}: messages[${i}] (group ${group})`;
    if (message === undefined) throw malformed(where, "no message");
    if (message.from !== from) throw malformed(where, `the message claims to be from ${message.from}`);
    out[i] = { group: partitionId(group), message: messageFromFields(message) };
  }
  return { clusterToken, from: nodeId(from), messages: out };
}

/**
 * The core message the fields carry. A snapshot message carries only the snapshot's metadata:
 * `snapshotData` (which travels separately, Raft.SendSnapshot) becomes its data.
 */
export function messageFromFields(p: MessageFields, snapshotData: Uint8Array = EMPTY): Message {
  const what = `RaftMessage ${MESSAGE_TYPE_NAME[p.type] ?? `type ${p.type}`} from ${p.from} to ${p.to}`;
  if (p.from === 0 || p.to === 0) throw malformed(what, "from and to must be node ids (not 0)");
  const from = nodeId(p.from);
  const to = nodeId(p.to);
  const term = safe(p.term, what, "term");
  switch (p.type) {
    case 1:
    case 3:
      return {
        type: p.type === 3 ? "vote" : "preVote",
        from,
        to,
        term,
        lastLogIndex: safe(p.lastLogIndex, what, "lastLogIndex"),
        lastLogTerm: safe(p.lastLogTerm, what, "lastLogTerm"),
        transfer: p.transfer,
      };
    case 2:
    case 4:
      return { type: p.type === 4 ? "voteResp" : "preVoteResp", from, to, term, reject: p.reject };
    case 5: {
      const entries: Entry[] = new Array(p.entries.length);
      for (let i = 0; i < entries.length; i++) {
        entries[i] = entryFromFields(p.entries[i] as EntryFields, `${what}: entries[${i}]`);
      }
      return {
        type: "append",
        from,
        to,
        term,
        prevIndex: safe(p.prevIndex, what, "prevIndex"),
        prevTerm: safe(p.prevTerm, what, "prevTerm"),
        entries,
        commit: safe(p.commit, what, "commit"),
      };
    }
    case 6:
      return {
        type: "appendResp",
        from,
        to,
        term,
        reject: p.reject,
        index: safe(p.index, what, "index"),
        hintIndex: safe(p.hintIndex, what, "hintIndex"),
        hintTerm: safe(p.hintTerm, what, "hintTerm"),
      };
    case 7:
      return {
        type: "heartbeat",
        from,
        to,
        term,
        commit: safe(p.commit, what, "commit"),
        readSeq: safe(p.readSeq, what, "readSeq"),
      };
    case 8:
      return { type: "heartbeatResp", from, to, term, readSeq: safe(p.readSeq, what, "readSeq") };
    case 9: {
      if (p.snapshot === undefined) throw malformed(what, "no snapshot metadata");
      const where = `${what}: snapshot`;
      if (p.snapshot.config === undefined) throw malformed(where, "no config");
      const meta: SnapshotMeta = {
        index: safe(p.snapshot.index, where, "index"),
        term: safe(p.snapshot.term, where, "term"),
        config: p.snapshot.config,
      };
      return { type: "snapshot", from, to, term, snapshot: { meta, data: snapshotData } };
    }
    case 10:
      return { type: "timeoutNow", from, to, term };
    case 11:
      return { type: "readIndex", from, to, term, context: p.context };
    case 12:
      return {
        type: "readIndexResp",
        from,
        to,
        term,
        context: p.context,
        index: safe(p.index, what, "index"),
      };
    default:
      throw malformed(what, "no message type (or one this node does not know)");
  }
}

function entryFromFields(p: EntryFields, where: string): Entry {
  const term = safe(p.term, where, "term");
  const index = safe(p.index, where, "index");
  switch (p.type) {
    case ENTRY_NORMAL:
      if (p.change !== undefined || p.config !== undefined) {
        throw malformed(where, "a normal entry carries a conf change");
      }
      return { type: "normal", term, index, data: p.data };
    case ENTRY_CONF_CHANGE: {
      if (p.change === undefined) throw malformed(where, "a conf-change entry without its change");
      if (p.config === undefined) throw malformed(where, "a conf-change entry without its resulting config");
      if (p.data.length > 0) throw malformed(where, "a conf-change entry carries data");
      return {
        type: "confChange",
        term,
        index,
        change: confChange(p.change, `${where}: change`),
        config: p.config,
      };
    }
    default:
      throw malformed(where, `unknown entry type ${p.type}`);
  }
}

function confChange(p: { type: number; node: number }, where: string): ConfChange {
  if (p.node === 0) throw malformed(where, "node must be a node id (not 0)");
  const node = nodeId(p.node);
  switch (p.type) {
    case 1:
      return { type: "addLearner", node };
    case 2:
      return { type: "addVoter", node };
    case 3:
      return { type: "removeNode", node };
    default:
      throw malformed(where, `unknown conf change type ${p.type}`);
  }
}

function safe(n: number, where: string, field: string): number {
  if (n > Number.MAX_SAFE_INTEGER) throw malformed(where, `${field} ${n} exceeds 2^53 - 1`);
  return n;
}

export function malformed(where: string, why: string): MalformedMessageError {
  return new MalformedMessageError(`malformed ${where}: ${why}`);
}
