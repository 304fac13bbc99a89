/**
 * One KV.Batch stream to one node, multiplexing requests: each gets the next id (1, 2, ...,
 * never reused on this stream), is queued for the stream, and its promise resolves with the
 * answer that carries its id, whatever the order the node answers in. The node reads at most
 * 1000 requests of a stream at a time and then holds the rest back through HTTP/2 flow control,
 * so the number of requests awaiting an answer is up to the caller: here they wait in a queue.
 *
 * A request not answered within its timeout fails with DeadlineExceeded (a late answer is
 * dropped). When the stream fails (the node is down or went away) every request awaiting an
 * answer fails with the stream's error, and the stream takes no more: open another.
 *
 * The stream speaks the Connect streaming protocol with binary messages straight on an HTTP/2
 * stream of the node's session (the Http2SessionManager that the client's unary calls share),
 * with the hand-written codec (batch-codec.ts): no connect-node call machinery, async iterables
 * or protobuf-es reflection per request. The requests queued in one turn of the event loop leave
 * in one write; when the stream's buffer is full they wait for 'drain'. Errors are ConnectErrors
 * with the codes connect-node's client gives: the end-stream message's error, the HTTP status,
 * Unavailable when the connection fails, a reset's code.
 */

import type { ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, endStreamFlag, endStreamFromJson } from "@connectrpc/connect/protocol-connect";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { type BatchRequest, type BatchResponse, KV } from "../gen/tinyo/v1/kv_pb.js";
import { decodeBatchResponse, encodeBatchRequest } from "./batch-codec.js";

/** What one BatchRequest asks: a put, get, delete or scan. */
export type BatchOperation = Exclude<BatchRequest["request"], { case: undefined }>;
/** What one BatchResponse answers: a put, get, delete or scan response, or a BatchError. */
export type BatchAnswer = Exclude<BatchResponse["response"], { case: undefined }>;

interface Waiter {
  readonly resolve: (answer: BatchAnswer) => void;
  readonly reject: (error: ConnectError) => void;
  readonly timer: NodeJS.Timeout;
}

const PATH = `/${KV.typeName}/${KV.method.batch.name}`;
const CONTENT_TYPE = "application/connect+proto";
const HEADERS = { "content-type": CONTENT_TYPE, "connect-protocol-version": "1" };
const ENVELOPE_BYTES = 5;
const EMPTY = Buffer.alloc(0);

export class BatchStream {
  private nextId = 1n;
  private readonly waiting = new Map<bigint, Waiter>();
  /** Enveloped requests not yet written. */
  private queue: Uint8Array[] = [];
  private flushScheduled = false;
  /** The last write filled the stream's buffer: wait for 'drain'. */
  private blocked = false;
  private stream: ClientHttp2Stream | undefined;
  private halfClosed = false;
  private endWritten = false;
  private ended: ConnectError | undefined;
  private readonly done: Promise<void>;
  private resolveDone: () => void = () => {};
  // Envelopes received: a message spanning several chunks is gathered, then concatenated once.
  private buf: Buffer = EMPTY;
  private parts: Buffer[] = [];
  private partsLength = 0;
  private needed = 0;

  constructor(private readonly sessions: Http2SessionManager) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    sessions.request("POST", PATH, HEADERS, {}).then(
      (stream) => this.opened(stream),
      (error: unknown) => this.fail(connectionError(error)),
    );
  }

  /** Whether the stream takes requests: not closed, not ended, not failed. */
  get usable(): boolean {
    return !this.halfClosed && this.ended === undefined;
  }

  /** Requests sent and not yet answered (or timed out). */
  get size(): number {
    return this.waiting.size;
  }

  /** Sends one request; resolves with its answer, which may be a BatchError. */
  send(request: BatchOperation, timeoutMs: number): Promise<BatchAnswer> {
    if (!this.usable) {
      return Promise.reject(this.ended ?? new ConnectError("the batch stream is closed", Code.Canceled));
    }
    const id = this.nextId++;
    const bytes = encodeBatchRequest({ $typeName: "tinyo.v1.BatchRequest", id, request }, ENVELOPE_BYTES);
    writeEnvelopePrefix(bytes);
    return new Promise<BatchAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(id);
          reject(
            new ConnectError(`no answer on the batch stream within ${timeoutMs} ms`, Code.DeadlineExceeded),
          );
        },
        Math.max(1, timeoutMs),
      );
      this.waiting.set(id, { resolve, reject, timer });
      this.queue.push(bytes);
      this.scheduleFlush();
    });
  }

  /** Half-closes the stream: no more requests; resolves once every answer has come (or it failed). */
  async close(): Promise<void> {
    this.halfClosed = true;
    this.scheduleFlush();
    await this.done;
  }

  /** Ends the stream at once: requests awaiting an answer fail with Canceled. */
  cancel(): void {
    this.fail(new ConnectError("the batch stream was cancelled", Code.Canceled));
  }

  private opened(stream: ClientHttp2Stream): void {
    if (this.ended !== undefined) {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    this.stream = stream;
    stream.on("response", (headers) => this.responseHeaders(headers));
    stream.on("data", (chunk: Buffer) => {
      this.sessions.notifyResponseByteRead(stream);
      this.received(chunk);
    });
    stream.on("drain", () => {
      this.blocked = false;
      this.flush();
    });
    // Unless the node reset it, a stream that breaks lost its connection: Unavailable.
    stream.on("error", (error) =>
      this.fail(
        resetError(stream) ?? new ConnectError(`the batch stream failed: ${error.message}`, Code.Unavailable),
      ),
    );
    stream.on("close", () => {
      this.fail(
        resetError(stream) ??
          new ConnectError("the batch stream ended before every request was answered", Code.Unavailable),
      );
      this.resolveDone();
    });
    this.flush();
  }

  private responseHeaders(headers: IncomingHttpHeaders): void {
    const status = Number(headers[":status"]);
    if (status !== 200) {
      this.fail(new ConnectError(`HTTP ${status} from the node`, codeFromHttpStatus(status)));
    } else if (headers["content-type"] !== CONTENT_TYPE) {
      this.fail(
        new ConnectError(`unexpected response content type ${headers["content-type"]}`, Code.Internal),
      );
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const stream = this.stream;
    if (stream === undefined || this.ended !== undefined || this.blocked) return;
    if (this.queue.length > 0) {
      const requests = this.queue;
      this.queue = [];
      const data = requests.length === 1 ? (requests[0] as Uint8Array) : Buffer.concat(requests);
      if (!stream.write(data)) {
        this.blocked = true;
        return;
      }
    }
    if (this.halfClosed && !this.endWritten) {
      this.endWritten = true;
      stream.end();
    }
  }

  private received(chunk: Buffer): void {
    if (this.needed > 0) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < this.needed) return;
      this.buf = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.needed = 0;
    } else this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.ended === undefined && this.buf.length >= ENVELOPE_BYTES) {
      const buf = this.buf;
      const flags = buf[0] as number;
      const length = buf.readUInt32BE(1);
      if (buf.length < ENVELOPE_BYTES + length) {
        this.needed = ENVELOPE_BYTES + length;
        this.parts = [buf];
        this.partsLength = buf.length;
        this.buf = EMPTY;
        return;
      }
      const payload = buf.subarray(ENVELOPE_BYTES, ENVELOPE_BYTES + length);
      this.buf = buf.subarray(ENVELOPE_BYTES + length);
      if ((flags & endStreamFlag) === endStreamFlag) this.endStream(payload);
      else if (flags !== 0) {
        this.fail(new ConnectError(`the node sent a message with flags ${flags}`, Code.Internal));
      } else this.answer(payload);
    }
  }

  private answer(payload: Uint8Array): void {
    let response: BatchResponse;
    try {
      response = decodeBatchResponse(payload);
    } catch (error) {
      this.fail(new ConnectError(`parse binary: ${(error as Error).message}`, Code.Internal));
      return;
    }
    const waiter = this.waiting.get(response.id);
    if (!waiter) return; // timed out: nobody waits for it any more
    this.waiting.delete(response.id);
    clearTimeout(waiter.timer);
    const answer = response.response;
    if (answer.case === undefined) {
      waiter.reject(new ConnectError(`the answer to request ${response.id} is empty`, Code.Internal));
    } else {
      waiter.resolve(answer);
    }
  }

  private endStream(payload: Uint8Array): void {
    let error: ConnectError | undefined;
    try {
      error = endStreamFromJson(payload).error;
    } catch (e) {
      error = ConnectError.from(e, Code.Internal);
    }
    this.fail(
      error ?? new ConnectError("the batch stream ended before every request was answered", Code.Unavailable),
    );
  }

  private fail(error: ConnectError): void {
    this.ended ??= error;
    for (const waiter of this.waiting.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiting.clear();
    this.queue = [];
    const stream = this.stream;
    if (stream === undefined) this.resolveDone();
    else if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

function writeEnvelopePrefix(bytes: Uint8Array): void {
  const length = bytes.length - ENVELOPE_BYTES;
  bytes[0] = 0;
  bytes[1] = length >>> 24;
  bytes[2] = (length >>> 16) & 0xff;
  bytes[3] = (length >>> 8) & 0xff;
  bytes[4] = length & 0xff;
}

/** Connecting failed: connect-node's session manager says why (Unavailable, as a rule). */
function connectionError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  return new ConnectError(`cannot reach the node: ${(error as Error).message}`, Code.Unavailable);
}

/** A reset's error, with the code connect-node's client gives it; undefined when not reset. */
function resetError(stream: ClientHttp2Stream): ConnectError | undefined {
  switch (stream.rstCode) {
    case undefined:
    case http2.constants.NGHTTP2_NO_ERROR:
      return undefined;
    case http2.constants.NGHTTP2_REFUSED_STREAM:
      return new ConnectError("the node refused the batch stream", Code.Unavailable);
    case http2.constants.NGHTTP2_CANCEL:
      return new ConnectError("the batch stream was cancelled", Code.Canceled);
    case http2.constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError("the node reset the batch stream: too much load", Code.ResourceExhausted);
    default:
      return new ConnectError(
        `the node reset the batch stream (HTTP/2 code ${stream.rstCode})`,
        Code.Internal,
      );
  }
}
