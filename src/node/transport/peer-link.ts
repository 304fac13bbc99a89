/**
 * The outbound half of the transport for ONE peer: a bounded queue, at most one Raft.Send call
 * in flight (made on node:http2 directly: connect-unary-call.ts), and backoff after failures.
 *
 * - While a call is in flight, new messages accumulate; when it completes, everything
 *   accumulated leaves in ONE next call. Messages queued in the same macrotask leave together
 *   too (the first call starts on a microtask, not synchronously in send()).
 * - A failed call loses its batch (Raft retransmits) and the link backs off before the next
 *   call: exponential from backoffInitialMs, capped at backoffMaxMs, reset by a success. The
 *   queue keeps filling meanwhile, up to its bounds (oldest dropped).
 * - The first failure of a streak is logged (again if the error code changes), and the recovery;
 *   not every failure.
 * - One HTTP/2 session (peer-session.ts), reused for every call; a timed-out call drops it,
 *   as it may be black-holed, and the next call opens a new one.
 * - Messages never overtake each other: one FIFO queue, one call at a time, and a delay fault
 *   holds messages in a FIFO delay line in front of the queue.
 */

import { type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  MessageBatchSchema,
  Raft,
  type SnapshotAck,
  type SnapshotChunkSchema,
} from "../../gen/tinyo/v1/raft_pb.js";
import type { NodeId } from "../ids.js";
import { batchToProto, type GroupMessage } from "./codec.js";
import { connectUnaryCall } from "./connect-unary-call.js";
import type { PeerLinkStats, TransportCounters } from "./counters.js";
import { DelayLine } from "./delay-line.js";
import { MessageQueue } from "./message-queue.js";
import { PeerSession } from "./peer-session.js";

/** Raft.Send, called on node:http2 directly (connect-unary-call.ts). */
const SEND_PATH = `/${Raft.typeName}/${Raft.method.send.name}`;

export type LogFn = (event: string, fields: Record<string, unknown>) => void;

export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  /** "host:port" */
  readonly address: string;
  readonly clusterToken: string;
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
  private inFlight: Promise<void> | undefined;
  private inFlightMessages = 0;
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
   * One Raft.SendSnapshot stream over this link's session, beside the Send calls and their
   * queue (it neither waits for them nor holds them up). Cancelled when the link closes.
   */
  streamSnapshot(
    requests: AsyncIterable<MessageInitShape<typeof SnapshotChunkSchema>>,
    timeoutMs: number,
  ): Promise<SnapshotAck> {
    if (this.closed) return Promise.reject(new ConnectError("the transport is closing", Code.Canceled));
    return this.client.sendSnapshot(requests, { timeoutMs, signal: this.closing.signal });
  }

  /** Resolves once nothing is queued, delayed or in flight (sent or dropped). */
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
      inFlight: this.inFlightMessages,
      consecutiveFailures: this.failures,
      sentBatches: this.sentBatches,
      sentMessages: this.sentMessages,
      dropped: this.dropped,
    };
  }

  /** Stops sending: discards what is queued, cancels the call in flight, closes the session. */
  async close(): Promise<void> {
    if (this.closed) return this.inFlight;
    this.closed = true;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.delayLine.clear();
    this.queue.clear();
    this.closing.abort(new ConnectError("the transport is closing", Code.Canceled));
    this.session.close();
    await this.inFlight;
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

  /** Starts the next call if the link may send and has something to send. */
  private kick(): void {
    if (this.closed || this.inFlight !== undefined || this.backoffTimer !== undefined) return;
    if (this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    const batch = this.queue.take();
    this.inFlightMessages = batch.length;
    this.inFlight = this.call(batch).finally(() => {
      this.inFlight = undefined;
      this.inFlightMessages = 0;
      this.kick();
      this.notifyIdle();
    });
  }

  private async call(batch: GroupMessage[]): Promise<void> {
    let request: ReturnType<typeof batchToProto>;
    try {
      request = batchToProto({ clusterToken: this.o.clusterToken, from: this.o.self, messages: batch });
    } catch (error) {
      // A message the codec cannot encode is a bug of its sender; do not blame the peer.
      this.o.counters.droppedFailedCall += batch.length;
      this.countDropped(batch.length);
      this.o.log("transport.encode_failed", { peer: this.o.peer, messages: batch.length, error: `${error}` });
      return;
    }
    try {
      await connectUnaryCall(
        this.session,
        SEND_PATH,
        toBinary(MessageBatchSchema, request),
        this.o.callTimeoutMs,
        this.closing.signal,
      );
    } catch (error) {
      if (!this.closed) this.failed(ConnectError.from(error), batch.length);
      return;
    }
    this.succeeded(batch.length);
  }

  private succeeded(messages: number): void {
    this.o.counters.sentBatches++;
    this.o.counters.sentMessages += messages;
    this.sentBatches++;
    this.sentMessages += messages;
    if (this.failures > 0) {
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
  }

  private failed(error: ConnectError, messages: number): void {
    this.o.counters.failedCalls++;
    this.o.counters.droppedFailedCall += messages;
    this.failures++;
    if (this.failures === 1) this.failingSince = Date.now();
    this.countDropped(messages);
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

  private countDropped(n: number): void {
    if (n === 0) return;
    this.dropped += n;
    if (this.failures > 0) this.droppedWhileFailing += n;
  }

  private isIdle(): boolean {
    return (
      this.closed || (this.queue.length === 0 && this.delayLine.length === 0 && this.inFlight === undefined)
    );
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
