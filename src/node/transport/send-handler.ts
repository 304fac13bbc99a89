/**
 * The inbound half of the transport: the implementation of Raft.Send.
 *
 * 1. A node shutting down answers Unavailable.
 * 2. The cluster token is checked in constant time: a wrong or missing one is Unauthenticated.
 * 3. The batch is decoded (codec.batchFromProto) and checked to be addressed to this node:
 *    anything malformed is InvalidArgument, with the reason.
 * 4. Inbound fault rules: a drop answers OK and discards the messages (what the sender's
 *    outbound drop does, and what a lossy link does: the sender's link stays healthy, neither
 *    backing off nor logging the peer as down). A delay holds the call for delay_ms before
 *    delivering, as a slow link would: the sender's next batch waits for it. A call cancelled
 *    meanwhile (the sender timed out, the node closes) is not delivered, so the sender's view,
 *    success or failure, is always the truth.
 * 5. onMessages (synchronous: the store only queues them) and the answer.
 *
 * Refused calls are logged, at most once per 10 s per kind and claimed sender, with a count of
 * those not logged.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageBatch, SendResponse } from "../../gen/tinyo/v1/raft_pb.js";
import type { NodeId } from "../ids.js";
import type { ClusterToken } from "./cluster-token.js";
import { batchFromProto, type GroupMessage, MalformedMessageError, type PeerBatch } from "./codec.js";
import type { TransportCounters } from "./counters.js";
import type { FaultRules } from "./faults.js";
import type { LogFn } from "./peer-link.js";

export interface SendHandlerOptions {
  readonly self: NodeId;
  readonly token: ClusterToken;
  readonly faults: FaultRules;
  readonly counters: TransportCounters;
  /** Aborted when the transport closes: pending delayed calls end without delivering. */
  readonly closing: AbortSignal;
  readonly onMessages: (from: NodeId, messages: GroupMessage[]) => void;
  readonly log: LogFn;
}

const LOG_INTERVAL_MS = 10_000;

export function createSendHandler(
  o: SendHandlerOptions,
): (request: MessageBatch, signal: AbortSignal) => Promise<Partial<SendResponse>> {
  const limiter = new LogLimiter(LOG_INTERVAL_MS);

  const refuse = (reason: string, from: number, code: Code, message: string): ConnectError => {
    o.counters.rejectedCalls++;
    const suppressed = limiter.admit(`${reason}/${from}`);
    if (suppressed !== undefined) {
      o.log("transport.inbound_rejected", { reason, from, code: Code[code], error: message, suppressed });
    }
    return new ConnectError(message, code);
  };

  return async (request, signal) => {
    if (o.closing.aborted) {
      throw new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable);
    }
    if (!o.token.matches(request.clusterToken)) {
      throw refuse(
        "unauthenticated",
        request.fromNode,
        Code.Unauthenticated,
        `node ${o.self} refuses Raft messages without this cluster's token (is the sender from another cluster?)`,
      );
    }
    let batch: PeerBatch;
    try {
      batch = batchFromProto(request);
      checkAddressed(batch, o.self);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      throw refuse("malformed", request.fromNode, Code.InvalidArgument, error.message);
    }
    const messages = batch.messages as GroupMessage[];
    const fault = o.faults.verdict(batch.from, "in");
    if (fault.drop) {
      o.counters.droppedInbound += messages.length;
      return {};
    }
    if (fault.delayMs > 0) {
      try {
        await sleep(fault.delayMs, undefined, { signal: AbortSignal.any([signal, o.closing]) });
      } catch {
        o.counters.droppedInbound += messages.length;
        throw new ConnectError("the call ended while a delay fault held it", Code.Canceled);
      }
    }
    if (messages.length > 0) {
      try {
        o.onMessages(batch.from, messages);
      } catch (error) {
        o.log("transport.on_messages_failed", {
          from: batch.from,
          messages: messages.length,
          error: `${error}`,
        });
        throw new ConnectError(`node ${o.self} failed to take the messages`, Code.Internal);
      }
    }
    o.counters.receivedBatches++;
    o.counters.received += messages.length;
    return {};
  };
}

/** Throws MalformedMessageError unless the batch comes from a peer and is addressed to `self`. */
function checkAddressed(batch: PeerBatch, self: NodeId): void {
  if (batch.from === self) {
    throw new MalformedMessageError(`malformed MessageBatch: from_node ${self} is this node itself`);
  }
  for (let i = 0; i < batch.messages.length; i++) {
    const to = batch.messages[i].message.to;
    if (to !== self) {
      throw new MalformedMessageError(
        `malformed MessageBatch from ${batch.from}: messages[${i}] is addressed to node ${to}, ` +
          `but this is node ${self} (does the sender have the wrong address for node ${to}?)`,
      );
    }
  }
}

/** Lets one log line per key through every `intervalMs`, counting those held back. */
class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** The number suppressed since the last admitted line, or undefined to suppress this one. */
  admit(key: string, now = Date.now()): number | undefined {
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return undefined;
    }
    if (this.last.size > 1000) this.last.clear(); // keys come from the network: stay bounded
    this.last.set(key, { at: now, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}
