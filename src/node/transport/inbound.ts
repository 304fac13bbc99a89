/**
 * What Raft.Send and Raft.Stream share on the receiving side: refusing a batch (counted, and
 * logged at most once per 10 s per reason and claimed sender), checking that a batch is
 * addressed to this node, and, for a stream, taking its batches in order (InboundStream).
 */

import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeId } from "../ids.js";
import type { ClusterToken } from "./cluster-token.js";
import type { TransportCounters } from "./counters.js";
import { DelayLine } from "./delay-line.js";
import type { FaultRules } from "./faults.js";
import type { LogFn } from "./peer-link.js";
import { type GroupMessage, MalformedMessageError, type PeerBatch } from "./raft-fields.js";

export interface InboundOptions {
  readonly self: NodeId;
  readonly token: ClusterToken;
  readonly faults: FaultRules;
  readonly counters: TransportCounters;
  /** Aborted when the transport closes: what is held by a delay fault is discarded. */
  readonly closing: AbortSignal;
  readonly onMessages: (from: NodeId, messages: GroupMessage[]) => void;
  readonly log: LogFn;
}

/** Counts a refused call or stream, logs it (rate-limited), and returns the error to answer. */
export type Refuse = (reason: string, from: number, code: Code, message: string) => ConnectError;

const LOG_INTERVAL_MS = 10_000;

export function createRefuse(o: InboundOptions): Refuse {
  const limiter = new LogLimiter(LOG_INTERVAL_MS);
  return (reason, from, code, message) => {
    o.counters.rejectedCalls++;
    const suppressed = limiter.admit(`${reason}/${from}`);
    if (suppressed !== undefined) {
      o.log("transport.inbound_rejected", { reason, from, code: Code[code], error: message, suppressed });
    }
    return new ConnectError(message, code);
  };
}

export function unauthenticated(o: InboundOptions, refuse: Refuse, from: number): ConnectError {
  return refuse(
    "unauthenticated",
    from,
    Code.Unauthenticated,
    `node ${o.self} refuses Raft messages without this cluster's token (is the sender from another cluster?)`,
  );
}

/** Throws MalformedMessageError unless the batch comes from a peer and is addressed to `self`. */
export function checkAddressed(batch: PeerBatch, self: NodeId): void {
  if (batch.from === self) {
    throw new MalformedMessageError(`malformed MessageBatch: from_node ${self} is this node itself`);
  }
  for (let i = 0; i < batch.messages.length; i++) {
    const to = (batch.messages[i] as GroupMessage).message.to;
    if (to !== self) {
      throw new MalformedMessageError(
        `malformed MessageBatch from ${batch.from}: messages[${i}] is addressed to node ${to}, ` +
          `but this is node ${self} (does the sender have the wrong address for node ${to}?)`,
      );
    }
  }
}

/** Most messages a stream holds for an inbound delay fault; beyond it the oldest are dropped. */
const MAX_HELD_MESSAGES = 10_000;

/**
 * The receiving end of one Raft.Stream: the first batch must carry the cluster token and names
 * the stream's sender; every later batch must come from that sender. Accepted batches are
 * handed to onMessages in arrival order. An inbound delay fault holds them (a FIFO delay line:
 * each batch leaves delay_ms after it arrived, never before one that arrived earlier), as a slow
 * network would, without holding up reading; a drop fault discards them. What is held when the
 * stream ends is still delivered (it was on its way), unless the transport is closing.
 */
export class InboundStream {
  private sender: NodeId | undefined;
  private readonly held: DelayLine;

  constructor(
    private readonly o: InboundOptions,
    private readonly refuse: Refuse,
  ) {
    this.held = new DelayLine((messages) => this.deliver(messages as GroupMessage[]), MAX_HELD_MESSAGES);
  }

  /** True once the first batch has been accepted (the sender is authenticated). */
  get accepted(): boolean {
    return this.sender !== undefined;
  }

  /**
   * Takes the next batch (decoded, with codec.ts's checks), or throws the ConnectError that
   * ends the stream: the node is shutting down, the token is wrong, the batch is misaddressed,
   * from another sender, or the store refused the messages.
   */
  accept(batch: PeerBatch): void {
    const o = this.o;
    if (o.closing.aborted) throw new ConnectError(`node ${o.self} is shutting down`, Code.Unavailable);
    if (this.sender === undefined) {
      if (!o.token.matches(batch.clusterToken)) throw unauthenticated(o, this.refuse, batch.from);
    } else if (batch.from !== this.sender) {
      throw this.refuse(
        "malformed",
        batch.from,
        Code.InvalidArgument,
        `malformed MessageBatch: from_node ${batch.from} on a stream from node ${this.sender}`,
      );
    } else if (batch.clusterToken !== "" && !o.token.matches(batch.clusterToken)) {
      throw unauthenticated(o, this.refuse, batch.from);
    }
    try {
      checkAddressed(batch, o.self);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      throw this.refuse("malformed", batch.from, Code.InvalidArgument, error.message);
    }
    this.sender = batch.from;
    if (batch.messages.length === 0) return;
    const fault = o.faults.verdict(batch.from, "in");
    if (fault.drop) {
      o.counters.droppedInbound += batch.messages.length;
      return;
    }
    if (fault.delayMs > 0 || this.held.length > 0) {
      o.counters.droppedInbound += this.held.hold(batch.messages, fault.delayMs);
      return;
    }
    if (!this.deliver(batch.messages as GroupMessage[])) {
      throw new ConnectError(`node ${o.self} failed to take the messages`, Code.Internal);
    }
  }

  /** Hands the messages to the store; false (logged) when it threw. */
  private deliver(messages: GroupMessage[]): boolean {
    const o = this.o;
    if (o.closing.aborted) {
      o.counters.droppedInbound += messages.length;
      return true;
    }
    const from = this.sender as NodeId;
    try {
      o.onMessages(from, messages);
    } catch (error) {
      o.log("transport.on_messages_failed", { from, messages: messages.length, error: `${error}` });
      return false;
    }
    o.counters.receivedBatches++;
    o.counters.received += messages.length;
    return true;
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
