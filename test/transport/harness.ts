/**
 * Real nodes for the transport tests: each a PeerTransport behind its own HTTP/2 server on
 * 127.0.0.1, on a port the OS chose, serving Raft.Stream on the fast path in front of
 * connectNodeAdapter, as a node does (or, given `fastPath: false`, connect-node alone). Nothing
 * of Connect is mocked.
 */

import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type NodeId, nodeId, type PartitionId, partitionId } from "../../src/node/ids.js";
import type { Entry, Message } from "../../src/node/raft/types.js";
import { withFastPath } from "../../src/node/service/fast-unary.js";
import {
  type GroupMessage,
  PeerTransport,
  type PeerTransportOptions,
} from "../../src/node/transport/peer-transport.js";

export const TOKEN = "test-cluster-token";

export interface Delivery {
  readonly from: NodeId;
  readonly messages: GroupMessage[];
  readonly at: number;
}

export interface LogLine {
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

/** One HTTP/2 server hosting a transport's routes; stop() ends its sessions, start() reopens. */
export class TestServer {
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  port = 0;

  constructor(
    private readonly transport: PeerTransport,
    private readonly fastPath = true,
  ) {}

  async start(port = this.port): Promise<number> {
    const connect = connectNodeAdapter({ routes: (router) => this.transport.routes(router) });
    const server = http2.createServer(
      this.fastPath ? withFastPath(this.transport.fastMethods(), connect) : connect,
    );
    server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Closes the server and its sessions: abruptly (destroy), or gracefully (GOAWAY, then close). */
  async stop(how: "abrupt" | "graceful" = "abrupt"): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) {
      if (how === "graceful") session.close();
      else session.destroy();
    }
    await closed;
  }
}

export class TestNode {
  readonly transport: PeerTransport;
  readonly server: TestServer;
  readonly deliveries: Delivery[] = [];
  readonly logs: LogLine[] = [];

  constructor(
    readonly id: NodeId,
    options: Partial<PeerTransportOptions> = {},
    fastPath = true,
  ) {
    this.transport = new PeerTransport({
      self: id,
      clusterToken: TOKEN,
      peers: new Map(),
      onMessages: (from, messages) => this.deliveries.push({ from, messages, at: performance.now() }),
      log: (event, fields) => this.logs.push({ event, fields }),
      ...options,
    });
    this.server = new TestServer(this.transport, fastPath);
  }

  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** Every message delivered here from `from`, in delivery order. */
  receivedFrom(from: number): GroupMessage[] {
    return this.deliveries.filter((d) => d.from === from).flatMap((d) => d.messages);
  }

  callsFrom(from: number): number {
    return this.deliveries.filter((d) => d.from === from).length;
  }

  logged(event: string): LogLine[] {
    return this.logs.filter((l) => l.event === event);
  }

  async close(): Promise<void> {
    await this.transport.close();
    await this.server.stop();
  }
}

/** Starts `n` nodes (ids 1..n) that know each other's addresses. */
export async function startCluster(
  n: number,
  options: (id: NodeId) => Partial<PeerTransportOptions> = () => ({}),
): Promise<TestNode[]> {
  const nodes = Array.from({ length: n }, (_, i) => new TestNode(nodeId(i + 1), options(nodeId(i + 1))));
  await Promise.all(nodes.map((node) => node.server.start(0)));
  const peers = new Map(nodes.map((node) => [node.id, node.address]));
  for (const node of nodes) node.transport.setPeers(peers);
  return nodes;
}

export async function closeAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.close()));
}

/** Waits until every message the nodes queued has been sent (or dropped). */
export async function flushAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.flush()));
}

export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- messages ------------------------------------------------------------------------------

export const group = (g: number): PartitionId => partitionId(g);

/** A heartbeat whose `commit` carries a sequence number, to check order. */
export function heartbeat(from: NodeId, to: NodeId, seq: number, g = 0): GroupMessage {
  return { group: group(g), message: { type: "heartbeat", from, to, term: 3, commit: seq, readSeq: 0 } };
}

export function append(from: NodeId, to: NodeId, prevIndex: number, count: number, dataBytes = 100): Message {
  const entries: Entry[] = [];
  for (let i = 1; i <= count; i++) {
    entries.push({ type: "normal", term: 3, index: prevIndex + i, data: new Uint8Array(dataBytes).fill(i) });
  }
  return { type: "append", from, to, term: 3, prevIndex, prevTerm: 3, entries, commit: prevIndex };
}

/** The sequence numbers of heartbeats, in order. */
export const seqs = (messages: readonly GroupMessage[]): number[] =>
  messages.map((m) => (m.message.type === "heartbeat" ? m.message.commit : -1));

/** One message of every type from `from` to `to`, for group `g`. */
export function everyType(from: NodeId, to: NodeId, g: number): GroupMessage[] {
  const term = 10 + g;
  const config = { voters: [from, to], learners: [] };
  const messages: Message[] = [
    { type: "preVote", from, to, term, lastLogIndex: 40, lastLogTerm: 4, transfer: false },
    { type: "vote", from, to, term, lastLogIndex: 40, lastLogTerm: 4, transfer: true },
    { type: "preVoteResp", from, to, term, reject: true },
    { type: "voteResp", from, to, term, reject: false },
    append(from, to, 40, 3),
    {
      type: "append",
      from,
      to,
      term,
      prevIndex: 43,
      prevTerm: 3,
      commit: 43,
      entries: [
        { type: "confChange", term, index: 44, change: { type: "addLearner", node: nodeId(9) }, config },
      ],
    },
    { type: "appendResp", from, to, term, reject: true, index: 40, hintIndex: 38, hintTerm: 2 },
    { type: "heartbeat", from, to, term, commit: 39, readSeq: 7 },
    { type: "heartbeatResp", from, to, term, readSeq: 7 },
    {
      type: "snapshot",
      from,
      to,
      term,
      snapshot: { meta: { index: 1000, term: 9, config }, data: new Uint8Array(0) },
    },
    { type: "timeoutNow", from, to, term },
    { type: "readIndex", from, to, term, context: `read-${g}` },
    { type: "readIndexResp", from, to, term, context: `read-${g}`, index: 77 },
  ];
  return messages.map((message) => ({ group: group(g), message }));
}
