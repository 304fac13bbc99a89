/**
 * Client-streaming methods served straight on node:http2, in front of connect-node, for the
 * peers' long-lived Raft streams (tinyo.v1.Raft/Stream): each request message is handed to the
 * method as soon as its envelope is complete, as a view of the received bytes, with no
 * per-message promise, async iterator or protobuf-es object.
 *
 * Protocols, answered as connect-node would: Connect streaming with binary messages
 * (`application/connect+proto`, no compression) and gRPC (`application/grpc` or
 * `application/grpc+proto`, no compression). Everything else (JSON, compression, gRPC-Web)
 * falls through to connect-node, which serves the same method generically.
 *
 * A method may send the response headers early (sendHeaders: the peer stream does once the first
 * batch is accepted, telling the client it is authenticated), end the call with an error at any
 * time (fail: a refused batch, the node shutting down), and answers when the client ends its
 * side. After an error, in the Connect protocol, the server resets the stream (NO_ERROR, once
 * the answer is written) so that the client stops sending; anything still arriving is discarded.
 */

import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { EnvelopeReader } from "./envelope-reader.js";
import { connectTimeoutOf, grpcTimeoutOf, headersOf } from "./fast-unary.js";

export interface ClientStreamCall {
  readonly requestHeader: Headers;
  /** Sends the response headers now, with `extra` ones (once; later calls do nothing). */
  sendHeaders(extra: Readonly<Record<string, string>>): void;
  /** Ends the call with an error (once the call has ended, does nothing). */
  fail(error: ConnectError): void;
}

export interface ClientStreamHandler {
  /** One request message (a view of the received bytes). Throw a ConnectError to end the call. */
  message(payload: Uint8Array): void;
  /** The client has sent everything: the response message's bytes, or throw. */
  end(): Uint8Array;
  /** The call is over, however it ended (called once). */
  closed(): void;
}

export interface FastClientStreamMethod {
  /** "/package.Service/Method" */
  readonly path: string;
  readonly open: (call: ClientStreamCall) => ClientStreamHandler;
}

type Protocol = "connect" | "grpc";

export function clientStreamProtocolOf(req: Http2ServerRequest): Protocol | undefined {
  const type = req.headers["content-type"];
  if (type === "application/connect+proto") {
    const encoding = req.headers["connect-content-encoding"];
    return encoding === undefined || encoding === "identity" ? "connect" : undefined;
  }
  if (type === "application/grpc" || type === "application/grpc+proto") {
    const encoding = req.headers["grpc-encoding"];
    return encoding === undefined || encoding === "identity" ? "grpc" : undefined;
  }
  return undefined;
}

const FLAG_COMPRESSED = 0b01;

export function serveClientStream(
  method: FastClientStreamMethod,
  protocol: Protocol,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): void {
  const contentType = protocol === "connect" ? "application/connect+proto" : "application/grpc+proto";
  let done = false;
  let handler: ClientStreamHandler | undefined;

  const sendHeaders = (extra: Readonly<Record<string, string>>) => {
    if (done || res.headersSent || res.closed) return;
    res.writeHead(200, { ...extra, "content-type": contentType }); // sent at once
  };
  const finish = (response: Uint8Array | undefined, error: ConnectError | undefined) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    handler?.closed();
    if (res.closed || res.destroyed) return;
    const reset = !req.readableEnded;
    if (!res.headersSent) res.writeHead(200, { "content-type": contentType });
    if (protocol === "connect") {
      const end = JSON.stringify(endStreamToJson(error?.metadata ?? new Headers(), error, undefined));
      if (response !== undefined) res.write(envelope(0, response));
      res.end(envelope(endStreamFlag, Buffer.from(end)));
    } else {
      const trailers: Record<string, string> = { "grpc-status": String(error?.code ?? 0) };
      if (error) {
        trailers["grpc-message"] = encodeURIComponent(error.rawMessage);
        error.metadata.forEach((value, key) => {
          trailers[key] = value;
        });
      }
      res.addTrailers(trailers);
      if (response === undefined) res.end();
      else res.end(envelope(0, response));
    }
    // The client is still sending: tell it to stop, once the answer is out. Not in gRPC, whose
    // trailers leave after 'finish', too late for a reset (the client ends the call on them).
    if (reset && protocol === "connect") res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  };
  const fail = (error: ConnectError) => finish(undefined, error);

  const timeoutMs = protocol === "connect" ? connectTimeoutOf(req) : grpcTimeoutOf(req);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => fail(new ConnectError("the call's deadline passed", Code.DeadlineExceeded)),
          timeoutMs,
        );

  try {
    handler = method.open({ requestHeader: headersOf(req), sendHeaders, fail });
  } catch (error) {
    fail(ConnectError.from(error));
    return;
  }

  const envelopes = new EnvelopeReader();
  req.on("data", (chunk: Buffer) => {
    if (done) return;
    if (!envelopes.push(chunk)) return;
    try {
      while (!done) {
        const envelope = envelopes.next();
        if (envelope === undefined) break;
        const { flags, message } = envelope;
        if (flags !== 0) {
          throw new ConnectError(
            flags & FLAG_COMPRESSED
              ? "a compressed message, but no compression was negotiated"
              : `a message with flags ${flags}`,
            Code.InvalidArgument,
          );
        }
        (handler as ClientStreamHandler).message(message);
      }
    } catch (error) {
      fail(ConnectError.from(error));
    }
  });
  req.once("end", () => {
    if (done) return;
    if (envelopes.holdsPartial) {
      fail(new ConnectError("the stream ended in the middle of a message", Code.InvalidArgument));
      return;
    }
    let response: Uint8Array;
    try {
      response = (handler as ClientStreamHandler).end();
    } catch (error) {
      fail(ConnectError.from(error));
      return;
    }
    finish(response, undefined);
  });
  req.once("error", () => fail(new ConnectError("the client's stream failed", Code.Canceled)));
  res.once("close", () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    handler?.closed();
  });
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
}
