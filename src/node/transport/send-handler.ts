/**
 * The inbound half of the transport: the implementation of Raft.Send, served two ways: on the
 * fast path (the nodes' own calls), the body is decoded by batch-wire.ts; by connect-node (any
 * other client or encoding), the protobuf-es object it hands over by codec.ts. Then:
 *
 * 1. A node shutting down answers Unavailable.
 * 2. The batch is decoded: anything malformed is InvalidArgument, with the reason.
 * 3. The cluster token is checked in constant time: a wrong or missing one is Unauthenticated.
 * 4. The batch must be addressed to this node (InvalidArgument otherwise).
 * 5. Inbound fault rules: a drop answers OK and discards the messages (what the sender's
 *    outbound drop does, and what a lossy link does: the sender's link stays healthy, neither
 *    backing off nor logging the peer as down). A delay holds the call for delay_ms before
 *    delivering, as a slow link would: the sender's next batch waits for it. A call cancelled
 *    meanwhile (the sender timed out, the node closes) is not delivered, so the sender's view,
 *    success or failure, is always the truth.
 * 6. onMessages (synchronous: the store only queues them) and the answer.
 *
 * Refused calls are logged as inbound.ts says (at most once per 10 s per kind and claimed sender).
 */

import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { checkAddressed, type InboundOptions, type Refuse, unauthenticated } from "./inbound.js";
import { type GroupMessage, MalformedMessageError, type PeerBatch } from "./raft-fields.js";

/** Serves one call: `decode` gives its batch, or throws MalformedMessageError. */
export type SendHandler = (decode: () => PeerBatch, signal: AbortSignal) => Promise<void>;

export function createSendHandler(o: InboundOptions, refuse: Refuse): SendHandler {
  return async (decode, signal) => {
    if (o.closing.aborted) {
      throw new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable);
    }
    let batch: PeerBatch;
    try {
      batch = decode();
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      throw refuse("malformed", 0, Code.InvalidArgument, error.message);
    }
    if (!o.token.matches(batch.clusterToken)) throw unauthenticated(o, refuse, batch.from);
    try {
      checkAddressed(batch, o.self);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      throw refuse("malformed", batch.from, Code.InvalidArgument, error.message);
    }
    const messages = batch.messages as GroupMessage[];
    const fault = o.faults.verdict(batch.from, "in");
    if (fault.drop) {
      o.counters.droppedInbound += messages.length;
      return;
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
  };
}
