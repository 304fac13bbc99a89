/**
 * The outbound half of the transport for ONE peer: a bounded queue in front of one long-lived
 * Raft.Stream (outbound-stream.ts), like etcd's and TiKV's peer streams, and backoff after
 * failures.
 *
 * - Whatever is queued is written as one batch as soon as the stream can take it: messages
 *   queued in the same macrotask leave together (the write happens on a microtask, not
 *   synchronously in send()), and while HTTP/2 flow control holds the stream (a slow peer),
 *   messages accumulate and leave together when it drains. No batch waits for an answer to the
 *   previous one: there is none, the stream is fire-and-forget.
 * - Batches are encoded by batch-wire.ts (no protobuf-es on this path); the first batch of a
 *   stream carries the cluster token, later ones only from_node.
 * - A stream that fails (cannot connect, refused, reset, stalled: see outbound-stream.ts) loses
 *   the batches not yet confirmed (Raft retransmits), and the link backs off before opening the
 *   next one: exponential from backoffInitialMs, capped at backoffMaxMs, reset once a stream is
 *   accepted. The queue keeps filling meanwhile, up to its bounds (oldest dropped).
 * - The first failure of a streak is logged (again if the error code changes), and the recovery;
 *   not every failure.
 * - One HTTP/2 session (peer-session.ts) for the stream and the snapshot transfers; a stream
 *   that stalled drops it, as it may be black-holed, and the next stream opens a new one.
 * - Messages never overtake each other: one FIFO queue, one stream at a time (the next opens
 *   only once the previous one is over), and a delay fault holds messages in a FIFO delay line
 *   in front of the queue.
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Raft, type SnapshotAck, type SnapshotChunkSchema } from "../../gen/tinyo/v1/raft_pb.js";
import type { NodeId } from "../ids.js";
import { encodeBatch } from "./batch-wire.js";
import type { PeerLinkStats, TransportCounters } from "./counters.js";
import { DelayLine } from "./delay-line.js";
import { MessageQueue } from "./message-queue.js";
import { ENVELOPE_PREFIX, OutboundStream } from "./outbound-stream.js";
import { PeerSession } from "./peer-session.js";
import type { GroupMessage } from "./raft-fields.js";

export type LogFn = (event: string, fields: Record<string, unknown>) => void;

export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  /** "host:port" */
  readonly address: string;
  readonly clusterToken: string;
  /** How long a stream may go without an answer (headers, a drained write, a ping) before it is
   * declared stalled and replaced. */
  readonly callTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly counters: TransportCounters;
  readonly log: LogFn;
}

/** Codes with which a live peer refuses a call: retrying will not help until someone acts. */
const REJECTIONS: ReadonlySet<Code> = new Set([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.Unimplemented,
  Code.Internal,
]);

export class PeerLink {
  private readonly queue: MessageQueue;
  private readonly delayLine: DelayLine;
  private readonly session: PeerSession;
  private readonly client: Client<typeof Raft>;
  private readonly closing = new AbortController();
  /** The open stream, if any. */
  private stream: OutboundStream | undefined;
  /** A stream being opened, with the first batch's message count. */
  private opening: { readonly messages: number; readonly done: Promise<void> } | undefined;
  private kickScheduled = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  private failures = 0;
  private failingSince = 0;
  private loggedCode: Code | undefined;
  private droppedWhileFailing = 0;
  private sentBatches = 0;
  private sentMessages = 0;
  private dropped = 0;

  constructor(private readonly o: PeerLinkOptions) {
    this.queue = new MessageQueue(o.maxQueuedMessages, o.maxQueuedBytes);
    this.delayLine = new DelayLine((messages) => this.enqueueNow(messages), o.maxQueuedMessages);
    const baseUrl = `http://${o.address}`;
    this.session = new PeerSession(baseUrl);
    this.client = createClient(
      Raft,
      createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: this.session }),
    );
  }

  get address(): string {
    return this.o.address;
  }

  /** Queues the messages, after holding them `delayMs` (a delay fault). Never throws. */
  enqueue(messages: readonly GroupMessage[], delayMs: number): void {
    if (this.closed) {
      this.o.counters.droppedUnroutable += messages.length;
      return;
    }
    if (delayMs > 0 || this.delayLine.length > 0) {
      const dropped = this.delayLine.hold(messages, delayMs);
      this.o.counters.droppedFault += dropped;
      this.countDropped(dropped);
      return;
    }
    this.enqueueNow(messages);
  }

  /**
   * One Raft.SendSnapshot stream over this link's session, beside the Raft stream and its
   * queue (it neither waits for them nor holds them up). Cancelled when the link closes.
   */
  streamSnapshot(
    requests: AsyncIterable<MessageInitShape<typeof SnapshotChunkSchema>>,
    timeoutMs: number,
  ): Promise<SnapshotAck> {
    if (this.closed) return Promise.reject(new ConnectError("the transport is closing", Code.Canceled));
    return this.client.sendSnapshot(requests, { timeoutMs, signal: this.closing.signal });
  }

  /** Resolves once nothing is queued, delayed or unconfirmed (everything sent or dropped). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): PeerLinkStats {
    return {
      peer: this.o.peer,
      address: this.o.address,
      queued: this.queue.length,
      delayed: this.delayLine.length,
      inFlight: (this.stream?.inFlight ?? 0) + (this.opening?.messages ?? 0),
      consecutiveFailures: this.failures,
      sentBatches: this.sentBatches,
      sentMessages: this.sentMessages,
      dropped: this.dropped,
    };
  }

  /** Stops sending: discards what is queued, cancels the stream, closes the session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.delayLine.clear();
    this.queue.clear();
    this.closing.abort(new ConnectError("the transport is closing", Code.Canceled));
    this.stream?.cancel();
    this.session.close();
    await this.opening?.done;
    this.notifyIdle();
  }

  private enqueueNow(messages: readonly GroupMessage[]): void {
    const dropped = this.queue.push(messages);
    this.o.counters.droppedOverflow += dropped;
    this.countDropped(dropped);
    if (!this.kickScheduled) {
      this.kickScheduled = true;
      queueMicrotask(() => {
        this.kickScheduled = false;
        this.kick();
      });
    }
  }

  /** Writes what is queued if the stream can take it, or opens a stream if there is none. */
  private kick(): void {
    if (this.closed || this.opening !== undefined || this.backoffTimer !== undefined) return;
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    const stream = this.stream;
    if (stream === undefined) {
      this.open(this.queue.take());
      return;
    }
    if (!stream.writable()) return; // drained() or ended() kicks again
    this.write(stream, this.queue.take(), false);
  }

  /** Opens a stream and writes `first` on it, with the cluster token. */
  private open(first: GroupMessage[]): void {
    let stream: OutboundStream | undefined;
    const done = OutboundStream.open(this.session, this.o.callTimeoutMs, {
      accepted: () => this.succeeded(),
      confirmed: (messages) => this.confirmed(messages),
      drained: () => this.kick(),
      ended: (error, unconfirmed) => this.ended(stream, error, unconfirmed),
    }).then(
      (opened) => {
        stream = opened;
        this.opening = undefined;
        if (this.closed || opened.hasEnded) {
          // Closing, or the stream failed before its first write (ended() has counted it).
          opened.cancel();
          this.countLost(first.length);
          return;
        }
        this.stream = opened;
        this.write(opened, first, true);
        this.kick();
      },
      (error: unknown) => {
        this.opening = undefined;
        if (!this.closed) this.failed(ConnectError.from(error), first.length);
        this.kick();
        this.notifyIdle();
      },
    );
    this.opening = { messages: first.length, done };
  }

  private write(stream: OutboundStream, batch: GroupMessage[], first: boolean): void {
    let framed: Uint8Array;
    try {
      framed = encodeBatch(
        { clusterToken: first ? this.o.clusterToken : "", from: this.o.self, messages: batch },
        ENVELOPE_PREFIX,
      );
    } catch (error) {
      // A message the codec cannot encode is a bug of its sender; do not blame the peer.
      this.o.counters.droppedFailedCall += batch.length;
      this.countDropped(batch.length);
      this.o.log("transport.encode_failed", { peer: this.o.peer, messages: batch.length, error: `${error}` });
      if (first) this.write(stream, [], true); // the stream still needs its token
      return;
    }
    stream.write(framed, batch.length);
  }

  private confirmed(messages: number): void {
    this.o.counters.sentBatches++;
    this.o.counters.sentMessages += messages;
    this.sentBatches++;
    this.sentMessages += messages;
    this.notifyIdle();
  }

  private ended(
    stream: OutboundStream | undefined,
    error: ConnectError | undefined,
    unconfirmed: number,
  ): void {
    if (stream !== undefined && this.stream !== stream) return;
    this.stream = undefined;
    if (error !== undefined && !this.closed) this.failed(error, unconfirmed);
    else this.countLost(unconfirmed);
    this.kick();
    this.notifyIdle();
  }

  private succeeded(): void {
    if (this.failures === 0) return;
    this.o.log("transport.peer_recovered", {
      peer: this.o.peer,
      address: this.o.address,
      failedCalls: this.failures,
      downMs: Date.now() - this.failingSince,
      droppedMessages: this.droppedWhileFailing,
    });
    this.failures = 0;
    this.loggedCode = undefined;
    this.droppedWhileFailing = 0;
  }

  /** A stream failed (or could not open, losing `lost` messages): log, back off. */
  private failed(error: ConnectError, lost: number): void {
    this.o.counters.failedCalls++;
    this.failures++;
    if (this.failures === 1) this.failingSince = Date.now();
    this.countLost(lost);
    if (error.code !== this.loggedCode) {
      this.loggedCode = error.code;
      const rejected = REJECTIONS.has(error.code);
      this.o.log(rejected ? "transport.peer_rejected" : "transport.peer_unreachable", {
        peer: this.o.peer,
        address: this.o.address,
        code: Code[error.code],
        error: error.rawMessage,
        failedCalls: this.failures,
      });
    }
    if (error.code === Code.DeadlineExceeded) this.session.abort();
    const delay = Math.min(
      this.o.backoffMaxMs,
      this.o.backoffInitialMs * 2 ** Math.min(this.failures - 1, 30),
    );
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.kick();
    }, delay);
    this.backoffTimer.unref();
  }

  /** Messages lost with a stream that failed. */
  private countLost(n: number): void {
    this.o.counters.droppedFailedCall += n;
    this.countDropped(n);
  }

  private countDropped(n: number): void {
    if (n === 0) return;
    this.dropped += n;
    if (this.failures > 0) this.droppedWhileFailing += n;
  }

  private isIdle(): boolean {
    return (
      this.closed ||
      (this.queue.length === 0 &&
        this.delayLine.length === 0 &&
        this.opening === undefined &&
        (this.stream?.inFlight ?? 0) === 0)
    );
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
