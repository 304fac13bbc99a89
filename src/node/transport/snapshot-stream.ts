/**
 * Snapshot transfer over Raft.SendSnapshot: one client stream per snapshot, beside (not in) the
 * batched Send calls, over the same HTTP/2 session to the peer.
 *
 * Outbound (`snapshotRequests`): the first chunk carries the cluster token, the group, the
 * sender and the snapshot message (its metadata only); every piece of state that follows is one
 * chunk's `data`, as the state machine produced it (its own format, checked on install); a last
 * chunk says `done`. Nothing is buffered here: the stream pulls the pieces as HTTP/2 flow control
 * lets it, so a slow receiver slows the reading of the sender's RocksDB snapshot.
 *
 * Inbound (`createSnapshotHandler`), in the order of the Send handler's checks:
 * 1. a node shutting down answers Unavailable;
 * 2. the first chunk must carry this cluster's token (else Unauthenticated) and a well-formed
 *    snapshot message from `from_node` to this node (else InvalidArgument);
 * 3. inbound fault rules: a drop answers at once without installing (a lossy link), a delay
 *    holds the transfer for delay_ms first;
 * 4. `onSnapshot` gets the message and the remaining pieces as an async iterable, which fails
 *    if the stream ends without `done` (so that a cut transfer is never installed); its answer
 *    becomes the SnapshotAck. An error it throws is answered Unavailable with its message
 *    (a ConnectError passes as it is).
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { SnapshotAckSchema, SnapshotChunk, SnapshotChunkSchema } from "../../gen/tinyo/v1/raft_pb.js";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../ids.js";
import type { Message } from "../raft/types.js";
import type { ClusterToken } from "./cluster-token.js";
import { fromProto, toProto } from "./codec.js";
import type { TransportCounters } from "./counters.js";
import type { FaultRules } from "./faults.js";
import type { LogFn } from "./peer-link.js";
import { MalformedMessageError } from "./raft-fields.js";

export type SnapshotMessage = Extract<Message, { type: "snapshot" }>;

/** A snapshot transfer as the receiving store sees it. */
export interface InboundSnapshot {
  readonly from: NodeId;
  readonly group: PartitionId;
  /** The message to step into the group once the state is installed (its data is empty). */
  readonly message: SnapshotMessage;
  /** The pieces of state, in order; readable once; throws if the stream was cut short. */
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** What the receiver did with a snapshot. */
export interface SnapshotReceipt {
  /** False when it did not need it (its log reaches that far, or the message is stale). */
  readonly installed: boolean;
}

export type OnSnapshot = (snapshot: InboundSnapshot) => Promise<SnapshotReceipt>;

type ChunkInit = MessageInitShape<typeof SnapshotChunkSchema>;

/** The chunks of one outbound transfer: header, `data` pieces, `done`. */
export async function* snapshotRequests(
  header: { readonly clusterToken: string; readonly from: NodeId; readonly group: PartitionId },
  message: SnapshotMessage,
  pieces: AsyncIterable<Uint8Array>,
  onPiece: (bytes: number) => void,
): AsyncGenerator<ChunkInit> {
  yield {
    clusterToken: header.clusterToken,
    group: header.group,
    fromNode: header.from,
    message: toProto(message),
  };
  for await (const data of pieces) {
    onPiece(data.length);
    yield { data };
  }
  yield { done: true };
}

export interface SnapshotHandlerOptions {
  readonly self: NodeId;
  readonly token: ClusterToken;
  readonly faults: FaultRules;
  readonly counters: TransportCounters;
  /** Aborted when the transport closes. */
  readonly closing: AbortSignal;
  readonly onSnapshot: OnSnapshot;
  readonly log: LogFn;
}

export function createSnapshotHandler(
  o: SnapshotHandlerOptions,
): (
  requests: AsyncIterable<SnapshotChunk>,
  context: HandlerContext,
) => Promise<MessageInitShape<typeof SnapshotAckSchema>> {
  const refuse = (reason: string, from: number, code: Code, message: string): ConnectError => {
    o.counters.rejectedCalls++;
    o.log("transport.snapshot_rejected", { reason, from, code: Code[code], error: message });
    return new ConnectError(message, code);
  };

  return async (requests, context) => {
    if (o.closing.aborted) throw new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable);
    const iterator = requests[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) throw refuse("malformed", 0, Code.InvalidArgument, "an empty SendSnapshot stream");
    const head = first.value;
    if (!o.token.matches(head.clusterToken)) {
      throw refuse(
        "unauthenticated",
        head.fromNode,
        Code.Unauthenticated,
        `node ${o.self} refuses snapshots without this cluster's token (is the sender from another cluster?)`,
      );
    }
    let message: SnapshotMessage;
    try {
      message = snapshotMessageOf(head, o.self);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      throw refuse("malformed", head.fromNode, Code.InvalidArgument, error.message);
    }
    const from = nodeId(head.fromNode);
    const fault = o.faults.verdict(from, "in");
    if (fault.drop) {
      o.counters.droppedInbound++;
      return { installed: false };
    }
    if (fault.delayMs > 0) {
      try {
        await sleep(fault.delayMs, undefined, { signal: AbortSignal.any([context.signal, o.closing]) });
      } catch {
        o.counters.droppedInbound++;
        throw new ConnectError("the transfer ended while a delay fault held it", Code.Canceled);
      }
    }
    const chunks = pieces(iterator, head.fromNode, (bytes) => {
      o.counters.snapshotBytesReceived += bytes;
    });
    let receipt: SnapshotReceipt;
    try {
      receipt = await o.onSnapshot({ from, group: partitionId(head.group), message, chunks });
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      const text = error instanceof Error ? error.message : String(error);
      throw new ConnectError(`node ${o.self} did not take the snapshot: ${text}`, Code.Unavailable);
    }
    o.counters.snapshotsReceived++;
    return { installed: receipt.installed };
  };
}

/** The snapshot message of a first chunk, checked; throws MalformedMessageError. */
function snapshotMessageOf(head: SnapshotChunk, self: NodeId): SnapshotMessage {
  const where = `SnapshotChunk from ${head.fromNode} (group ${head.group})`;
  if (head.fromNode === 0) throw new MalformedMessageError(`malformed ${where}: from_node must be a node id`);
  if (head.message === undefined) throw new MalformedMessageError(`malformed ${where}: no message`);
  const message = fromProto(head.message);
  if (message.type !== "snapshot") {
    throw new MalformedMessageError(`malformed ${where}: the message is a ${message.type}, not a snapshot`);
  }
  if (message.from !== head.fromNode) {
    throw new MalformedMessageError(`malformed ${where}: the message claims to be from ${message.from}`);
  }
  if (message.to !== self) {
    throw new MalformedMessageError(
      `malformed ${where}: the message is addressed to node ${message.to}, but this is node ${self}`,
    );
  }
  return message;
}

/** The `data` of the chunks after the first; throws when the stream ends before `done`. */
async function* pieces(
  iterator: AsyncIterator<SnapshotChunk>,
  from: number,
  onPiece: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      throw new MalformedMessageError(`the snapshot stream from node ${from} ended before its last chunk`);
    }
    const { data, done } = next.value;
    if (data.length > 0) {
      onPiece(data.length);
      yield data;
    }
    if (done) return;
  }
}
