/**
 * The receiving side of Raft.Stream, the peers' long-lived streams of batches, served two ways:
 *
 * - on the fast path (service/fast-client-stream.ts), which the nodes' own links use: each
 *   enveloped batch is decoded by batch-wire.ts as soon as it is complete and handed on;
 * - by connect-node (createStreamImpl), for any other Connect or gRPC client, through
 *   protobuf-es and codec.ts.
 *
 * Either way an InboundStream (inbound.ts) checks the batches and delivers them in order. The
 * fast path sends the response headers as soon as the first batch is accepted, with
 * ACCEPTED_HEADER: the sender takes them as the sign that the peer is up and the stream
 * authenticated. When the transport closes,
 * the open fast-path streams end with Unavailable.
 */

import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Raft } from "../../gen/tinyo/v1/raft_pb.js";
import type { FastClientStreamMethod } from "../service/fast-client-stream.js";
import { decodeBatch } from "./batch-wire.js";
import { batchFromProto } from "./codec.js";
import { type InboundOptions, InboundStream, type Refuse } from "./inbound.js";
import { MalformedMessageError, type PeerBatch } from "./raft-fields.js";

export const STREAM_PATH = "/tinyo.v1.Raft/Stream";

/**
 * The response header that tells the sender its stream was accepted (first batch
 * authenticated). A Connect stream's headers alone say nothing: an error answers 200 too.
 */
export const ACCEPTED_HEADER = "tinyo-stream-accepted";

/** SendResponse has no fields: its encoding is empty. */
const EMPTY_RESPONSE = new Uint8Array(0);

export function createFastStreamMethod(o: InboundOptions, refuse: Refuse): FastClientStreamMethod {
  const open = new Set<(error: ConnectError) => void>();
  o.closing.addEventListener("abort", () => {
    for (const fail of [...open]) fail(new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable));
  });
  return {
    path: STREAM_PATH,
    open: (call) => {
      if (o.closing.aborted) throw new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable);
      const inbound = new InboundStream(o, refuse);
      open.add(call.fail);
      return {
        message: (payload) => {
          let batch: PeerBatch;
          try {
            batch = decodeBatch(payload);
          } catch (error) {
            if (!(error instanceof MalformedMessageError)) throw error;
            throw refuse("malformed", 0, Code.InvalidArgument, error.message);
          }
          const first = !inbound.accepted;
          inbound.accept(batch);
          if (first) call.sendHeaders({ [ACCEPTED_HEADER]: "1" });
        },
        end: () => EMPTY_RESPONSE,
        closed: () => open.delete(call.fail),
      };
    },
  };
}

/** Raft.Stream for connect-node: the same checks and delivery, through protobuf-es. */
export function createStreamImpl(o: InboundOptions, refuse: Refuse): ServiceImpl<typeof Raft>["stream"] {
  return async (requests) => {
    const inbound = new InboundStream(o, refuse);
    for await (const request of requests) {
      let batch: PeerBatch;
      try {
        batch = batchFromProto(request);
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        throw refuse("malformed", request.fromNode, Code.InvalidArgument, error.message);
      }
      inbound.accept(batch);
    }
    return {};
  };
}
