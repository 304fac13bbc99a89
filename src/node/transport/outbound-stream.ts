/**
 * One open Raft.Stream to a peer (Connect protocol, binary, on node:http2 directly): the
 * sending end of a peer link (peer-link.ts). Each batch is one enveloped message, written at
 * once; HTTP/2 flow control is the backpressure (writable() is false until the stream drains).
 *
 * What it reports to its link:
 * - accepted: the peer's response headers arrived, marked accepted (its fast path sends them
 *   once the first batch is authenticated), so the peer is up and takes this node's batches;
 * - confirmed(messages): a batch left for the peer (written to the socket, the stream accepted);
 * - drained: writable again;
 * - ended(error): once, when the stream is over; `error` undefined only after a graceful end
 *   (the peer's session announced a shutdown: GOAWAY), which this side starts itself.
 *
 * A stalled or black-holed peer is found within timeoutMs and reported as DeadlineExceeded: no
 * response headers, a write that does not drain, or an HTTP/2 ping (sent after writes, at most
 * one every timeoutMs / 2) not answered. The link then drops the session: a new stream opens on
 * a new connection.
 */

import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, endStreamFlag, endStreamFromJson } from "@connectrpc/connect/protocol-connect";
import type { PeerSession } from "./peer-session.js";
import { ACCEPTED_HEADER, STREAM_PATH } from "./stream-handler.js";

export interface OutboundStreamEvents {
  accepted(): void;
  confirmed(messages: number): void;
  drained(): void;
  ended(error: ConnectError | undefined, unconfirmedMessages: number): void;
}

/** Bytes reserved before each encoded batch for its envelope (flags, 4-byte length). */
export const ENVELOPE_PREFIX = 5;

/** Largest answer read: the end of the stream is a few bytes of JSON. */
const MAX_ANSWER_BYTES = 64 * 1024;

interface Written {
  readonly messages: number;
  done: boolean;
}

export class OutboundStream {
  private isAccepted = false;
  private isEnded = false;
  private ending = false;
  private needsDrain = false;
  private readonly written: Written[] = [];
  private unconfirmed = 0;
  private status = 0;
  private answer: Buffer[] = [];
  private answerBytes = 0;
  private acceptTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPingAt = 0;
  private readonly onGoaway = () => this.endGracefully();

  private constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly timeoutMs: number,
    private readonly events: OutboundStreamEvents,
  ) {
    this.acceptTimer = setTimeout(
      () => this.fail(`no answer within ${timeoutMs} ms`, Code.DeadlineExceeded),
      timeoutMs,
    );
    stream.session?.once("goaway", this.onGoaway);
    stream.on("response", (headers) => {
      this.status = Number(headers[":status"]);
      if (this.status === 200 && headers[ACCEPTED_HEADER] === "1") {
        this.isAccepted = true;
        clearTimeout(this.acceptTimer);
        this.events.accepted();
        this.confirmWritten();
      }
    });
    stream.on("data", (chunk: Buffer) => {
      this.answerBytes += chunk.length;
      if (this.answerBytes > MAX_ANSWER_BYTES) this.fail("the peer's answer is too large", Code.Internal);
      else this.answer.push(chunk);
    });
    stream.on("end", () => this.finish(this.outcome()));
    stream.on("drain", () => {
      this.needsDrain = false;
      clearTimeout(this.drainTimer);
      if (!this.isEnded) this.events.drained();
    });
    stream.on("error", (error) => this.fail(`the stream failed: ${error.message}`, Code.Unavailable));
    stream.on("close", () => this.fail("the stream closed without an answer", Code.Unavailable));
  }

  /** Opens the stream (and, if needed, the session); throws a ConnectError if it cannot. */
  static async open(
    session: PeerSession,
    timeoutMs: number,
    events: OutboundStreamEvents,
  ): Promise<OutboundStream> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectError(`cannot connect within ${timeoutMs} ms`, Code.DeadlineExceeded)),
        timeoutMs,
      );
    });
    try {
      const stream = await Promise.race([
        session.request(
          "POST",
          STREAM_PATH,
          { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
          {},
        ),
        deadline,
      ]);
      return new OutboundStream(stream, timeoutMs, events);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw new ConnectError(`cannot reach ${session.authority}: ${String(error)}`, Code.Unavailable);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True while a batch may be written now. */
  writable(): boolean {
    return !this.isEnded && !this.ending && !this.needsDrain;
  }

  /** True once the stream is over (ended() has been reported). */
  get hasEnded(): boolean {
    return this.isEnded;
  }

  /** Messages written and not yet confirmed. */
  get inFlight(): number {
    return this.unconfirmed;
  }

  /**
   * Writes one batch: `framed` is its encoding after ENVELOPE_PREFIX free bytes, which this
   * fills in. Only while writable().
   */
  write(framed: Uint8Array, messages: number): void {
    const length = framed.length - ENVELOPE_PREFIX;
    framed[0] = 0;
    framed[1] = length >>> 24;
    framed[2] = (length >>> 16) & 0xff;
    framed[3] = (length >>> 8) & 0xff;
    framed[4] = length & 0xff;
    const entry: Written = { messages, done: false };
    this.written.push(entry);
    this.unconfirmed += messages;
    const more = this.stream.write(framed, (error) => {
      if (error || this.isEnded) return;
      entry.done = true;
      this.confirmWritten();
    });
    if (!more) {
      this.needsDrain = true;
      this.drainTimer = setTimeout(
        () => this.fail(`a write did not drain within ${this.timeoutMs} ms`, Code.DeadlineExceeded),
        this.timeoutMs,
      );
    }
    this.maybePing();
  }

  /** Ends the stream at once (the link is closing). */
  cancel(): void {
    this.finish(new ConnectError("the transport is closing", Code.Canceled));
  }

  /** Stops writing and lets the peer answer: the stream then ends without an error. */
  private endGracefully(): void {
    if (this.isEnded || this.ending) return;
    this.ending = true;
    this.stream.end();
  }

  private confirmWritten(): void {
    if (!this.isAccepted) return;
    while (this.written.length > 0 && (this.written[0] as Written).done) {
      const { messages } = this.written.shift() as Written;
      this.unconfirmed -= messages;
      this.events.confirmed(messages);
    }
  }

  /** While writing, an HTTP/2 ping now and then proves the connection still carries data. */
  private maybePing(): void {
    const now = Date.now();
    if (this.pingTimer !== undefined || now - this.lastPingAt < this.timeoutMs / 2) return;
    const session = this.stream.session;
    if (session === undefined || session.destroyed) return;
    this.lastPingAt = now;
    this.pingTimer = setTimeout(
      () => this.fail(`no ping answer within ${this.timeoutMs} ms`, Code.DeadlineExceeded),
      this.timeoutMs,
    );
    const sent = session.ping((error) => {
      clearTimeout(this.pingTimer);
      this.pingTimer = undefined;
      if (error && !this.isEnded) this.fail(`the ping failed: ${error.message}`, Code.Unavailable);
    });
    if (!sent) {
      clearTimeout(this.pingTimer);
      this.pingTimer = undefined;
    }
  }

  /** What the peer answered, once its side ended. */
  private outcome(): ConnectError | undefined {
    const body = Buffer.concat(this.answer);
    if (this.status !== 200) {
      return new ConnectError(`the peer answered HTTP ${this.status}`, codeFromHttpStatus(this.status));
    }
    // Envelopes: the response message (ignored), then the end of the stream.
    let at = 0;
    while (at + 5 <= body.length) {
      const flags = body[at] as number;
      const length = body.readUInt32BE(at + 1);
      const data = body.subarray(at + 5, at + 5 + length);
      at += 5 + length;
      if (flags & endStreamFlag) {
        try {
          const end = endStreamFromJson(data);
          if (end.error) return end.error;
        } catch (error) {
          return ConnectError.from(error);
        }
        return this.ending ? undefined : new ConnectError("the peer ended the stream", Code.Unavailable);
      }
    }
    return new ConnectError("the peer's answer has no end", Code.Unavailable);
  }

  private fail(message: string, code: Code): void {
    this.finish(new ConnectError(message, code));
  }

  private finish(error: ConnectError | undefined): void {
    if (this.isEnded) return;
    this.isEnded = true;
    clearTimeout(this.acceptTimer);
    clearTimeout(this.drainTimer);
    clearTimeout(this.pingTimer);
    this.stream.session?.off("goaway", this.onGoaway);
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    const unconfirmed = this.unconfirmed;
    this.unconfirmed = 0;
    this.written.length = 0;
    this.events.ended(error, unconfirmed);
  }
}
