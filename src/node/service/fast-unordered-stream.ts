/**
 * A bidi-streaming method that answers each request message with one response message, in
 * completion order (KV.Batch), served straight on node:http2 in front of connect-node: the
 * fast-path counterpart of unordered.ts. Each request message is handed to the method as soon as
 * its envelope is complete, as a view of the received bytes; its answer comes back as bytes
 * (5 bytes reserved in front for the envelope, filled here: no copy), and the answers ready in
 * one turn of the event loop leave in one write. No per-message async iterator, header object
 * or protobuf-es message.
 *
 * Protocols, answered as connect-node would: Connect streaming with binary messages
 * (`application/connect+proto`, no compression: the response headers with the first answer, an
 * end-stream message last, `{}` or the error) and gRPC (`application/grpc[+proto]`, no
 * compression: grpc-status and grpc-message in trailers). Everything else (JSON, compression,
 * gRPC-Web, an unparsable timeout header) falls through to connect-node, which serves the same
 * method generically (kv.ts's batch, through unordered.ts).
 *
 * Flow control, as unordered.ts: at most `maxInProgress` requests of a stream are in progress
 * (read, answer not yet taken by the connection); at the bound the node stops parsing and pauses
 * the request stream, so HTTP/2 flow control holds the client back. Answers written while the
 * response stream is full (a client that does not read them) stay in progress until it drains.
 *
 * The call ends OK once the client has half-closed and every answer is written; with an error
 * when an answer fails (a stream-level failure), a request cannot be parsed, the deadline passes
 * (DeadlineExceeded) or the request stream breaks. The signal given to the method aborts when
 * the call ends, however it ends. After an error, in the Connect protocol, the server resets the
 * stream once the answer is written (NO_ERROR), so that a client still sending stops.
 */

import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, endStreamToJson } from "@connectrpc/connect/protocol-connect";
import { ENVELOPE_BYTES, EnvelopeReader } from "./envelope-reader.js";
import { connectTimeoutOf, grpcTimeoutOf, headersOf } from "./fast-unary.js";

/** The bytes an answer leaves in front of its message, for the envelope. */
export { ENVELOPE_BYTES };

export interface UnorderedStreamCall {
  readonly requestHeader: Headers;
  /** Aborts when the call ends: the client went away, the deadline passed, an error, or done. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the call's deadline; undefined when it has none. */
  timeoutMs(): number | undefined;
}

export interface FastUnorderedStreamMethod {
  /** "/package.Service/Method" */
  readonly path: string;
  /** The most requests of one stream in progress at once; beyond, the node stops reading. */
  readonly maxInProgress: number;
  /**
   * Opens a call; returns what answers one request message (a view of the received bytes): the
   * response's bytes after ENVELOPE_BYTES reserved ones. A throw or a rejection ends the call
   * with that error.
   */
  readonly answers: (call: UnorderedStreamCall) => (payload: Uint8Array) => Promise<Uint8Array>;
}

type Protocol = "connect" | "grpc";

/** The protocol of a request this path serves; undefined to leave it to connect-node. */
export function unorderedStreamProtocolOf(req: Http2ServerRequest): Protocol | undefined {
  const type = req.headers["content-type"];
  if (type === "application/connect+proto") {
    const encoding = req.headers["connect-content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    const timeout = req.headers["connect-timeout-ms"];
    return timeout === undefined || connectTimeoutOf(req) !== undefined ? "connect" : undefined;
  }
  if (type === "application/grpc" || type === "application/grpc+proto") {
    const encoding = req.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    const timeout = req.headers["grpc-timeout"];
    return timeout === undefined || grpcTimeoutOf(req) !== undefined ? "grpc" : undefined;
  }
  return undefined;
}

export function serveUnorderedStream(
  method: FastUnorderedStreamMethod,
  protocol: Protocol,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): void {
  const contentType = protocol === "connect" ? "application/connect+proto" : "application/grpc+proto";
  const { maxInProgress } = method;
  const timeoutMs = protocol === "connect" ? connectTimeoutOf(req) : grpcTimeoutOf(req);
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  const abort = new AbortController();
  let done = false;
  /** Requests read whose answer is not yet written. */
  let inProgress = 0;
  let halfClosed = false;
  let paused = false;
  /** Answers ready, not yet written: they leave together, on the next check phase. */
  let ready: Uint8Array[] = [];
  let flushScheduled = false;
  /** The last write filled the stream's buffer: hold answers until 'drain'. */
  let blocked = false;
  /** The answers of that write, still counted in progress. */
  let undrained = 0;

  const envelopes = new EnvelopeReader();

  const finish = (error: ConnectError | undefined) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    abort.abort(error ?? new ConnectError("the call is over", Code.Canceled));
    if (res.closed || res.destroyed) return;
    if (!res.headersSent) res.writeHead(200, { "content-type": contentType });
    if (protocol === "connect") {
      const end = JSON.stringify(endStreamToJson(new Headers(), error, undefined));
      res.end(envelope(endStreamFlag, Buffer.from(end)));
      // The client is still sending: tell it to stop, once the answer is out.
      if (!req.readableEnded) res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return;
    }
    const trailers: Record<string, string> = {};
    if (error) {
      error.metadata.forEach((value, key) => {
        trailers[key] = value;
      });
      trailers["grpc-message"] = encodeURIComponent(error.rawMessage);
    }
    trailers["grpc-status"] = String(error?.code ?? 0);
    res.addTrailers(trailers);
    res.end();
  };
  const fail = (error: unknown) => finish(ConnectError.from(error));

  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => fail(new ConnectError("the call's deadline passed", Code.DeadlineExceeded)),
          timeoutMs,
        );

  /** Writes the answers ready, unless the stream is full; then goes on reading, or ends. */
  const flush = () => {
    flushScheduled = false;
    if (done) return;
    if (!blocked && ready.length > 0) {
      if (!res.headersSent) res.writeHead(200, { "content-type": contentType });
      const answers = ready;
      ready = [];
      if (res.write(answers.length === 1 ? (answers[0] as Uint8Array) : Buffer.concat(answers))) {
        inProgress -= answers.length;
      } else {
        // Buffered in the stream, not yet taken by the connection: in progress until 'drain'.
        blocked = true;
        undrained = answers.length;
      }
    }
    pump();
  };

  const answered = (response: Uint8Array) => {
    if (done) return;
    const length = response.length - ENVELOPE_BYTES;
    response[0] = 0;
    response[1] = length >>> 24;
    response[2] = (length >>> 16) & 0xff;
    response[3] = (length >>> 8) & 0xff;
    response[4] = length & 0xff;
    ready.push(response);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  let answer: (payload: Uint8Array) => Promise<Uint8Array>;
  try {
    answer = method.answers({
      requestHeader: headersOf(req),
      signal: abort.signal,
      timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    });
  } catch (error) {
    fail(error);
    return;
  }

  /** Starts the complete requests buffered, up to the bound; pauses or resumes reading; ends. */
  const pump = () => {
    try {
      while (!done && inProgress < maxInProgress) {
        const envelope = envelopes.next();
        if (envelope === undefined) break;
        const { flags, message } = envelope;
        if (flags !== 0) {
          // As connect-node answers.
          throw flags & 0b01
            ? new ConnectError(
                "received compressed envelope, but do not know how to decompress",
                Code.Internal,
              )
            : new ConnectError(`protocol error: a message with flags ${flags}`, Code.InvalidArgument);
        }
        inProgress++;
        answer(message).then(answered, fail);
      }
    } catch (error) {
      fail(error);
    }
    if (done) return;
    const full = inProgress >= maxInProgress;
    if (full !== paused) {
      paused = full;
      if (full) req.pause();
      else req.resume();
    }
    // Past the end, once the requests read are answered: done, or a message was cut short.
    if (halfClosed && inProgress === 0) {
      if (envelopes.holdsPartial) {
        fail(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
      } else finish(undefined);
    }
  };

  req.on("data", (chunk: Buffer) => {
    if (done) return;
    if (envelopes.push(chunk)) pump();
  });
  req.once("end", () => {
    halfClosed = true;
    pump();
  });
  req.once("error", () => fail(new ConnectError("the client's stream failed", Code.Canceled)));
  res.on("drain", () => {
    blocked = false;
    inProgress -= undrained;
    undrained = 0;
    flush();
  });
  res.once("close", () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    abort.abort(new ConnectError("the client closed the call", Code.Canceled));
  });
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_BYTES + data.length);
  out[0] = flags;
  out.writeUInt32BE(data.length, 1);
  out.set(data, ENVELOPE_BYTES);
  return out;
}
