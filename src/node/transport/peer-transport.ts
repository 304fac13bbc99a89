/**
 * Raft messages between the nodes of a cluster over Connect-RPC, batched per peer: the
 * multi-Raft store hands over every message for a peer, whatever its group, and the transport
 * writes them, in order, on one long-lived tinyo.v1.Raft.Stream per peer.
 *
 * Outbound: one PeerLink per peer, created when setPeers() names the peer (queue, stream,
 * backoff; see peer-link.ts) over one HTTP/2 session. Inbound: fastMethods() are the stream's
 * and Send's fast paths (stream-handler.ts and send-handler.ts, which the node serves on
 * node:http2 directly, decoding with batch-wire.ts), and routes() registers connect-node's
 * generic Stream and Send (one batch per unary call, for compatibility), decoding protobuf-es
 * objects with codec.ts. All check the cluster token, decode and hand each batch to onMessages.
 * Fault rules (admin.proto) drop or delay traffic in either direction, per peer.
 *
 * Snapshots travel apart (snapshot-stream.ts): sendSnapshot() streams one over Raft.SendSnapshot
 * on the peer's session, and routes() registers the inbound side, which applies the same token
 * check and fault rules as Send and hands the transfer to onSnapshot.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { Raft } from "../../gen/tinyo/v1/raft_pb.js";
import type { NodeId, PartitionId } from "../ids.js";
import type { FastMethod, FastUnaryMethod } from "../service/fast-unary.js";
import { decodeBatch } from "./batch-wire.js";
import { ClusterToken } from "./cluster-token.js";
import { batchFromProto } from "./codec.js";
import { TransportCounters, type TransportStats } from "./counters.js";
import {
  type Direction,
  type FaultRule,
  type FaultRuleInit,
  FaultRules,
  type FaultVerdict,
} from "./faults.js";
import { createRefuse, type InboundOptions } from "./inbound.js";
import { type LogFn, PeerLink } from "./peer-link.js";
import type { GroupMessage } from "./raft-fields.js";
import { createSendHandler, type SendHandler } from "./send-handler.js";
import {
  createSnapshotHandler,
  type OnSnapshot,
  type SnapshotMessage,
  type SnapshotReceipt,
  snapshotRequests,
} from "./snapshot-stream.js";
import { createFastStreamMethod, createStreamImpl } from "./stream-handler.js";

export type { PeerLinkStats, TransportStats } from "./counters.js";

const SEND_PATH = `/${Raft.typeName}/${Raft.method.send.name}`;
/** SendResponse has no fields: its encoding is empty. */
const EMPTY_RESPONSE = new Uint8Array(0);

export type { FaultRule, FaultRuleInit, FaultVerdict } from "./faults.js";
export type { GroupMessage } from "./raft-fields.js";
export type { InboundSnapshot, OnSnapshot, SnapshotMessage, SnapshotReceipt } from "./snapshot-stream.js";

/** A snapshot transfer refused before it started: no address for the peer, a drop fault, closing. */
export class SnapshotNotSentError extends Error {
  override name = "SnapshotNotSentError";
}

export interface PeerTransportOptions {
  self: NodeId;
  clusterToken: string;
  /** node id -> "host:port"; change it later with setPeers(). */
  peers: ReadonlyMap<NodeId, string>;
  /** Called, synchronously, for every accepted inbound batch (never with an empty one). Decoded
   * entry data aliases the request body: keep it as is, but do not expect to own the buffer. */
  onMessages(from: NodeId, messages: GroupMessage[]): void;
  /** Takes an inbound snapshot transfer (Raft.SendSnapshot); without it, the call is Unimplemented. */
  onSnapshot?: OnSnapshot;
  /** Deadline of one whole snapshot transfer, install included. Default 300,000 ms. */
  snapshotTimeoutMs?: number;
  /** Structured log hook. */
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** How long a peer stream may go without an answer (its headers, a drained write, a ping)
   * before it is replaced; also the deadline to connect. Default 2000 ms. */
  callTimeoutMs?: number;
  /** First backoff after a failed stream, doubled per failure in a row. Default 50 ms. */
  backoffInitialMs?: number;
  /** Longest backoff. Default 1000 ms. */
  backoffMaxMs?: number;
  /** Most messages queued per peer; beyond it the oldest are dropped. Default 10,000. */
  maxQueuedMessages?: number;
  /** Most bytes (estimated) queued per peer; beyond it the oldest are dropped. Default 64 MiB. */
  maxQueuedBytes?: number;
}

export class PeerTransport {
  private readonly self: NodeId;
  private readonly token: ClusterToken;
  private readonly counters = new TransportCounters();
  private readonly faultRules = new FaultRules();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly closing = new AbortController();
  private readonly closingLinks = new Set<Promise<void>>();
  private readonly unroutableLogged = new Set<NodeId>();
  private readonly log: LogFn;
  private readonly sendHandler: SendHandler;
  private readonly streamImpl: ReturnType<typeof createStreamImpl>;
  private readonly fastStreamMethod: FastMethod;
  private readonly snapshotHandler: ReturnType<typeof createSnapshotHandler> | undefined;

  constructor(private readonly options: PeerTransportOptions) {
    this.self = options.self;
    this.token = new ClusterToken(options.clusterToken);
    this.log = options.log ?? (() => {});
    const inbound: InboundOptions = {
      self: this.self,
      token: this.token,
      faults: this.faultRules,
      counters: this.counters,
      closing: this.closing.signal,
      onMessages: options.onMessages,
      log: this.log,
    };
    const refuse = createRefuse(inbound);
    this.sendHandler = createSendHandler(inbound, refuse);
    this.streamImpl = createStreamImpl(inbound, refuse);
    this.fastStreamMethod = createFastStreamMethod(inbound, refuse);
    const onSnapshot = options.onSnapshot;
    this.snapshotHandler =
      onSnapshot &&
      createSnapshotHandler({
        self: this.self,
        token: this.token,
        faults: this.faultRules,
        counters: this.counters,
        closing: this.closing.signal,
        onSnapshot,
        log: this.log,
      });
    this.setPeers(options.peers);
  }

  /**
   * Streams a snapshot to a peer: `message` (a snapshot message to `to`, its metadata describing
   * the state) and then `pieces`, the partition's state as the state machine reads it. Resolves
   * with the peer's answer once it has taken the snapshot; rejects if the transfer was not made
   * (SnapshotNotSentError) or failed (a ConnectError). Never retried here: Raft asks again.
   */
  async sendSnapshot(
    group: PartitionId,
    message: SnapshotMessage,
    pieces: AsyncIterable<Uint8Array>,
  ): Promise<SnapshotReceipt> {
    const to = message.to;
    const link = this.closing.signal.aborted ? undefined : this.links.get(to);
    if (link === undefined) throw new SnapshotNotSentError(`no link to node ${to} (unknown, or closing)`);
    const fault = this.faultRules.verdict(to, "out");
    if (fault.drop) {
      this.counters.droppedFault++;
      throw new SnapshotNotSentError(`a fault rule drops traffic to node ${to}`);
    }
    if (fault.delayMs > 0) await sleep(fault.delayMs, undefined, { signal: this.closing.signal });
    const requests = snapshotRequests(
      { clusterToken: this.options.clusterToken, from: this.self, group },
      message,
      pieces,
      (bytes) => {
        this.counters.snapshotBytesSent += bytes;
      },
    );
    try {
      const ack = await link.streamSnapshot(requests, this.options.snapshotTimeoutMs ?? 300_000);
      this.counters.snapshotsSent++;
      return { installed: ack.installed };
    } catch (error) {
      this.counters.snapshotsFailed++;
      throw ConnectError.from(error);
    }
  }

  /**
   * Queues messages for a peer; never blocks, never throws. Messages queued for one peer in the
   * same macrotask, or while its stream is held by flow control, go together in one batch.
   * Messages for an unknown peer, or sent after close(), are dropped and counted.
   */
  send(to: NodeId, messages: readonly GroupMessage[]): void {
    if (messages.length === 0) return;
    const link = this.closing.signal.aborted ? undefined : this.links.get(to);
    if (link === undefined) {
      this.counters.droppedUnroutable += messages.length;
      if (!this.closing.signal.aborted && !this.unroutableLogged.has(to)) {
        this.unroutableLogged.add(to);
        this.log("transport.unknown_peer", { peer: to, messages: messages.length });
      }
      return;
    }
    const fault = this.faultRules.verdict(to, "out");
    if (fault.drop) {
      this.counters.droppedFault += messages.length;
      return;
    }
    link.enqueue(messages, fault.delayMs);
  }

  /**
   * Replaces the peer address book: new peers get a link, removed ones lose theirs (what was
   * queued for them is dropped), a peer whose address changed gets a new link.
   */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    if (this.closing.signal.aborted) return;
    for (const [id, link] of this.links) {
      if (peers.get(id) !== link.address) {
        this.links.delete(id);
        this.retire(link);
      }
    }
    for (const [id, address] of peers) {
      if (id === this.self || this.links.has(id)) continue;
      this.unroutableLogged.delete(id);
      this.links.set(
        id,
        new PeerLink({
          self: this.self,
          peer: id,
          address,
          clusterToken: this.options.clusterToken,
          callTimeoutMs: this.options.callTimeoutMs ?? 2000,
          backoffInitialMs: this.options.backoffInitialMs ?? 50,
          backoffMaxMs: this.options.backoffMaxMs ?? 1000,
          maxQueuedMessages: this.options.maxQueuedMessages ?? 10_000,
          maxQueuedBytes: this.options.maxQueuedBytes ?? 64 * 1024 * 1024,
          counters: this.counters,
          log: this.log,
        }),
      );
    }
  }

  /** Registers tinyo.v1.Raft (Stream, Send, and SendSnapshot given onSnapshot) on a Connect router. */
  routes(router: ConnectRouter): void {
    const impl: Partial<ServiceImpl<typeof Raft>> = {
      send: async (request, context) => {
        await this.sendHandler(() => batchFromProto(request), context.signal);
        return {};
      },
      stream: this.streamImpl,
    };
    if (this.snapshotHandler) impl.sendSnapshot = this.snapshotHandler;
    router.service(Raft, impl);
  }

  /**
   * Raft.Stream and Raft.Send on the node's fast path (service/fast-unary.ts), in front of
   * routes(): the batches are decoded from the bytes (batch-wire.ts), without protobuf-es.
   */
  fastMethods(): FastMethod[] {
    const send: FastUnaryMethod = {
      path: SEND_PATH,
      call: async (payload, context) => {
        await this.sendHandler(() => decodeBatch(payload), context.signal);
        return EMPTY_RESPONSE;
      },
    };
    return [send, this.fastStreamMethod];
  }

  /** What the fault rules say about traffic with a peer. */
  faultVerdict(peer: NodeId, direction: Direction): FaultVerdict {
    return this.faultRules.verdict(peer, direction);
  }

  /** Replaces the fault rules; throws RangeError (keeping the old ones) when one is invalid. */
  setFaults(rules: readonly FaultRuleInit[]): void {
    this.faultRules.set(rules);
    this.log("transport.faults_set", { rules: rules.length });
  }

  clearFaults(): void {
    this.faultRules.clear();
    this.log("transport.faults_cleared", {});
  }

  faults(): readonly FaultRule[] {
    return this.faultRules.list();
  }

  stats(): TransportStats {
    const c = this.counters;
    return {
      sentBatches: c.sentBatches,
      sentMessages: c.sentMessages,
      failedCalls: c.failedCalls,
      dropped: c.dropped,
      droppedOverflow: c.droppedOverflow,
      droppedFailedCall: c.droppedFailedCall,
      droppedFault: c.droppedFault,
      droppedUnroutable: c.droppedUnroutable,
      receivedBatches: c.receivedBatches,
      received: c.received,
      droppedInbound: c.droppedInbound,
      rejectedCalls: c.rejectedCalls,
      snapshotsSent: c.snapshotsSent,
      snapshotsFailed: c.snapshotsFailed,
      snapshotBytesSent: c.snapshotBytesSent,
      snapshotsReceived: c.snapshotsReceived,
      snapshotBytesReceived: c.snapshotBytesReceived,
      peers: [...this.links.values()].map((link) => link.stats()),
    };
  }

  /** Resolves once every message queued so far has been sent or dropped (delays included). */
  async flush(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.whenIdle()));
  }

  /**
   * Stops sending (what is queued is dropped, the streams are cancelled), closes the HTTP/2
   * sessions, ends the inbound streams and makes Send answer Unavailable. The HTTP/2 server is
   * the caller's.
   */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted) {
      this.closing.abort();
      for (const link of this.links.values()) this.retire(link);
      this.links.clear();
    }
    await Promise.all(this.closingLinks);
  }

  private retire(link: PeerLink): void {
    const closed = link.close().finally(() => this.closingLinks.delete(closed));
    this.closingLinks.add(closed);
  }
}
