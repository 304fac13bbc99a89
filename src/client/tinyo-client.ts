/**
 * The TypeScript client: Connect over HTTP/2 to any of the cluster's nodes.
 *
 * Routing: a key's partition is computed here (the cluster's partition count comes from the
 * options, or from Admin.Routes on first use), and a request goes to the partition's leader
 * when a response header or an error's leader hint named it, else to any endpoint (which
 * forwards it). Node addresses come from Admin.Routes. Retries: Unavailable (no leader yet, a
 * node down, the leader moved) is retried with backoff, at the hinted leader or the next
 * endpoint, until the operation's deadline. Writes carry a random 16-byte request id, the same
 * on every retry, so a retried write is applied once.
 *
 * Bulk work: `batch()` sends puts, gets and deletes over KV.Batch streams, one per node, each
 * request to the node that leads its partition when known (else to the endpoints in turn), many
 * in flight at once. A request that fails there (an error answer other than InvalidArgument, or
 * the stream breaking) is retried as a unary call, with the same request id, within what is left
 * of its deadline. The streams run on the endpoints' HTTP/2 sessions, shared with the unary
 * calls, with a hand-written codec (batch-stream.ts).
 */

import { randomBytes } from "node:crypto";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin, type RoutesResponse } from "../gen/tinyo/v1/admin_pb.js";
import {
  Consistency,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  KV,
  type PutRequest,
  type PutResponse,
  type ResponseHeader,
} from "../gen/tinyo/v1/kv_pb.js";
import { partitionOf } from "../node/ring/hash.js";
import { type BatchAnswer, type BatchOperation, BatchStream } from "./batch-stream.js";
import { backoffMs, DEFAULT_DEADLINE_MS, LEADER_HINT_HEADER, leaderHintOf } from "./wire.js";

export { Consistency } from "../gen/tinyo/v1/kv_pb.js";

export interface TinyoClientOptions {
  /** host:port of one or more nodes. */
  readonly endpoints: readonly string[];
  /** The cluster's partition count Q; asked of the cluster (Admin.Routes) when absent. */
  readonly partitions?: number;
  /** Deadline of one operation, retries included; default 5000 ms. */
  readonly deadlineMs?: number;
}

export type Key = string | Uint8Array;

export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Where a request was served: the response header. */
export interface Served {
  readonly partition: number;
  readonly leader: number;
  readonly term: number;
  readonly index: number;
}

export interface ScanOptions {
  readonly start?: Key;
  readonly end?: Key;
  readonly prefix?: Key;
  /** At most this many pairs in all; default 10000. */
  readonly limit?: number;
  readonly consistency?: Consistency;
}

/**
 * Puts, gets and deletes sent over KV.Batch streams (one per node): for bulk work, with many
 * requests in flight at once. The results and errors are those of the client's unary methods.
 */
export interface TinyoBatch {
  put(key: Key, value: Key): Promise<Served>;
  /** The value, or undefined when the key does not exist. */
  get(key: Key, consistency?: Consistency): Promise<Uint8Array | undefined>;
  /** Whether the key existed. */
  delete(key: Key): Promise<boolean>;
  /** Takes no more requests; resolves once the requests sent are answered and the streams ended. */
  close(): Promise<void>;
}

type BatchCase = "put" | "get" | "delete";
type KeyOperation = Extract<BatchOperation, { case: BatchCase }>;
interface BatchResults {
  put: PutResponse;
  get: GetResponse;
  delete: DeleteResponse;
}

interface Endpoint {
  readonly sessions: Http2SessionManager;
  readonly kv: Client<typeof KV>;
  readonly admin: Client<typeof Admin>;
}

const encoder = new TextEncoder();
const bytes = (key: Key): Uint8Array => (typeof key === "string" ? encoder.encode(key) : key);
const SCAN_PAGE = 10_000;
const SCAN_CONCURRENCY = 8;
/**
 * One unary attempt waits at most this long, so that a node that accepts connections but never
 * answers (paused with SIGSTOP, a hung machine) cannot eat the whole deadline of an operation.
 */
const ATTEMPT_TIMEOUT_MS = 2000;

export class TinyoClient {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly leaders = new Map<number, number>();
  private readonly addresses = new Map<number, string>();
  private partitions: number | undefined;
  private routesLoaded: Promise<void> | undefined;
  private next = 0;
  private readonly deadlineMs: number;

  constructor(private readonly options: TinyoClientOptions) {
    if (options.endpoints.length === 0) throw new RangeError("a TinyoClient needs at least one endpoint");
    this.partitions = options.partitions;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.next = Math.floor(Math.random() * options.endpoints.length);
  }

  async put(key: Key, value: Key): Promise<Served> {
    return served((await this.putCall(putRequest(key, value))).header);
  }

  /** The value, or undefined when the key does not exist. */
  async get(key: Key, consistency = Consistency.LINEARIZABLE): Promise<Uint8Array | undefined> {
    const response = await this.getCall(getRequest(key, consistency));
    return response.found ? response.value : undefined;
  }

  /** Whether the key existed. */
  async delete(key: Key): Promise<boolean> {
    return (await this.deleteCall(deleteRequest(key))).existed;
  }

  /**
   * Puts, gets and deletes over KV.Batch streams: one per node, opened on first use, each
   * request to the node that leads its partition when known. Errors other than InvalidArgument
   * are retried as unary calls within the request's deadline. Close it when done.
   */
  batch(): TinyoBatch {
    const streams = new Map<string, BatchStream>();
    let closed = false;
    const send = <C extends BatchCase>(
      request: KeyOperation & { case: C },
      unary: (deadline: number) => Promise<BatchResults[C]>,
    ): Promise<BatchResults[C]> => {
      if (closed) return Promise.reject(new ConnectError("the batch is closed", Code.Canceled));
      return this.viaBatch(streams, request, unary);
    };
    return {
      put: async (key, value) => {
        const request = putRequest(key, value);
        const response = await send({ case: "put", value: request }, (deadline) =>
          this.putCall(request, deadline),
        );
        return served(response.header);
      },
      get: async (key, consistency = Consistency.LINEARIZABLE) => {
        const request = getRequest(key, consistency);
        const response = await send({ case: "get", value: request }, (deadline) =>
          this.getCall(request, deadline),
        );
        return response.found ? response.value : undefined;
      },
      delete: async (key) => {
        const request = deleteRequest(key);
        const response = await send({ case: "delete", value: request }, (deadline) =>
          this.deleteCall(request, deadline),
        );
        return response.existed;
      },
      close: async () => {
        closed = true;
        await Promise.all([...streams.values()].map((stream) => stream.close()));
        streams.clear();
      },
    };
  }

  /** Puts every pair over a batch, at most `window` awaiting an answer at once; the results in order. */
  async putMany(pairs: Iterable<readonly [Key, Key]>, window = 1000): Promise<Served[]> {
    const batch = this.batch();
    const results: Served[] = [];
    const iterator = pairs[Symbol.iterator]();
    let n = 0;
    const worker = async () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        const i = n++;
        const [key, value] = next.value;
        results[i] = await batch.put(key, value);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, window) }, worker));
    } finally {
      await batch.close();
    }
    return results;
  }

  /** The pairs of every partition in the range, merged in key order, at most `limit`. */
  async scan(options: ScanOptions = {}): Promise<KeyValue[]> {
    const limit = options.limit ?? SCAN_PAGE;
    const partitions = await this.partitionCount();
    const results: KeyValue[][] = [];
    let p = 0;
    const worker = async () => {
      while (p < partitions) {
        const partition = p++;
        results[partition] = await this.scanPartition(partition, options, limit);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, partitions) }, worker));
    return results
      .flat()
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .slice(0, limit);
  }

  /** The routing table as one node knows it. */
  async routes(): Promise<RoutesResponse> {
    return this.withRetries(undefined, (endpoint, timeoutMs) => endpoint.admin.routes({}, { timeoutMs }));
  }

  /** A Connect Admin client for one endpoint (host:port), e.g. for Status. */
  admin(address: string): Client<typeof Admin> {
    return this.endpoint(address).admin;
  }

  close(): void {
    for (const endpoint of this.endpoints.values()) endpoint.sessions.abort();
    this.endpoints.clear();
  }

  private async scanPartition(partition: number, options: ScanOptions, limit: number): Promise<KeyValue[]> {
    const pairs: KeyValue[] = [];
    let start = options.start === undefined ? new Uint8Array(0) : bytes(options.start);
    for (;;) {
      const request = {
        partition,
        start,
        end: options.end === undefined ? undefined : bytes(options.end),
        prefix: options.prefix === undefined ? undefined : bytes(options.prefix),
        limit: Math.min(SCAN_PAGE, limit - pairs.length),
        consistency: options.consistency ?? Consistency.LINEARIZABLE,
      };
      const response = await this.withRetries(partition, (endpoint, timeoutMs) =>
        endpoint.kv.scan(request, { timeoutMs }),
      );
      this.learn(response.header);
      for (const { key, value } of response.pairs) pairs.push({ key, value });
      if (!response.more || pairs.length >= limit) return pairs;
      start = response.resumeKey;
    }
  }

  private putCall(request: PutRequest, deadline?: number) {
    return this.call(request.key, (kv, timeoutMs) => kv.put(request, { timeoutMs }), deadline);
  }

  private getCall(request: GetRequest, deadline?: number) {
    return this.call(request.key, (kv, timeoutMs) => kv.get(request, { timeoutMs }), deadline);
  }

  private deleteCall(request: DeleteRequest, deadline?: number) {
    return this.call(request.key, (kv, timeoutMs) => kv.delete(request, { timeoutMs }), deadline);
  }

  /**
   * One request over the batch stream to the partition's leader (or the next endpoint); on an
   * error answer other than InvalidArgument, or a broken stream, `unary` within the deadline.
   */
  private async viaBatch<C extends BatchCase>(
    streams: Map<string, BatchStream>,
    request: KeyOperation & { case: C },
    unary: (deadline: number) => Promise<BatchResults[C]>,
  ): Promise<BatchResults[C]> {
    const deadline = Date.now() + this.deadlineMs;
    const { key } = request.value;
    if (key.length === 0) return unary(deadline); // refused there at once, with the same message
    const partition = partitionOf(key, await this.partitionCount());
    const address = this.target(partition);
    let stream = streams.get(address);
    if (!stream?.usable) {
      stream = new BatchStream(this.endpoint(address).sessions);
      streams.set(address, stream);
    }
    let answer: BatchAnswer;
    try {
      answer = await stream.send(request, deadline - Date.now());
    } catch (error) {
      // The stream broke (the node is down or went away), or the deadline passed.
      const err = ConnectError.from(error);
      if (err.code === Code.DeadlineExceeded || Date.now() >= deadline) throw err;
      if (this.leaders.has(partition)) this.leaders.delete(partition);
      else this.next++;
      return unary(deadline);
    }
    if (answer.case === "error") {
      const { code, message, header } = answer.value;
      const metadata = new Headers({ [LEADER_HINT_HEADER]: String(header?.leader ?? 0) });
      const err = new ConnectError(message, code, metadata);
      if (code === Code.InvalidArgument || Date.now() >= deadline) throw err;
      const hint = leaderHintOf(err);
      if (hint !== undefined && this.addresses.has(hint)) this.leaders.set(partition, hint);
      else this.leaders.delete(partition);
      return unary(deadline);
    }
    if (answer.case !== request.case) {
      throw new ConnectError(`a ${request.case} was answered with a ${answer.case}`, Code.Internal);
    }
    this.learn(answer.value.header);
    return answer.value as BatchResults[C];
  }

  private async call<R extends { header?: ResponseHeader }>(
    key: Uint8Array,
    send: (kv: Client<typeof KV>, timeoutMs: number) => Promise<R>,
    deadline = Date.now() + this.deadlineMs,
  ): Promise<R> {
    if (key.length === 0) {
      // Checked here too, so that the error does not wait for a partition count.
      throw new ConnectError("the key is empty: a key must be 1 to 4096 bytes", Code.InvalidArgument);
    }
    const partition = partitionOf(key, await this.partitionCount());
    const response = await this.withRetries(
      partition,
      (endpoint, timeoutMs) => send(endpoint.kv, timeoutMs),
      deadline,
    );
    this.learn(response.header);
    return response;
  }

  private async withRetries<R>(
    partition: number | undefined,
    send: (endpoint: Endpoint, timeoutMs: number) => Promise<R>,
    deadline = Date.now() + this.deadlineMs,
  ): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const address = this.target(partition);
      const remaining = deadline - Date.now();
      try {
        return await send(this.endpoint(address), Math.max(1, Math.min(remaining, ATTEMPT_TIMEOUT_MS)));
      } catch (error) {
        const err = ConnectError.from(error);
        // An attempt cut short by its own timeout (a frozen node) is tried elsewhere, like Unavailable.
        const attemptTimedOut = err.code === Code.DeadlineExceeded && remaining > ATTEMPT_TIMEOUT_MS;
        if ((err.code !== Code.Unavailable && !attemptTimedOut) || Date.now() >= deadline) throw err;
        const hint = leaderHintOf(err);
        const elsewhere =
          hint !== undefined && this.addresses.has(hint) && this.addresses.get(hint) !== address;
        if (partition !== undefined) {
          if (elsewhere) this.leaders.set(partition, hint);
          else this.leaders.delete(partition);
        }
        if (!elsewhere) this.next++; // that endpoint may be down or lost: try the next one
      }
      await sleep(Math.min(backoffMs(attempt, 20, 500), Math.max(0, deadline - Date.now())));
    }
  }

  /** The leader's address when known, else the endpoints in turn. */
  private target(partition: number | undefined): string {
    const leader = partition === undefined ? undefined : this.leaders.get(partition);
    const address = leader === undefined ? undefined : this.addresses.get(leader);
    if (address !== undefined) return address;
    const { endpoints } = this.options;
    return endpoints[this.next % endpoints.length] as string;
  }

  private learn(header: ResponseHeader | undefined): void {
    if (header && header.leader > 0) this.leaders.set(header.partition, header.leader);
  }

  /** Q; node addresses and leaders are loaded from Admin.Routes in the background when Q is known. */
  private async partitionCount(): Promise<number> {
    if (this.addresses.size === 0) {
      this.routesLoaded ??= this.routes().then(
        (routes) => {
          this.partitions ??= routes.partitions;
          for (const { node, address } of routes.nodes) this.addresses.set(node, address);
          for (const route of routes.routes)
            if (route.leader > 0) this.leaders.set(route.partition, route.leader);
        },
        (error: unknown) => {
          this.routesLoaded = undefined; // try again next time
          throw error;
        },
      );
    }
    if (this.partitions !== undefined) {
      this.routesLoaded?.catch(() => {});
      return this.partitions;
    }
    await this.routesLoaded;
    return this.partitions as unknown as number;
  }

  private endpoint(address: string): Endpoint {
    let endpoint = this.endpoints.get(address);
    if (!endpoint) {
      const baseUrl = `http://${address}`;
      const sessions = new Http2SessionManager(baseUrl, { idleConnectionTimeoutMs: 60_000 });
      const transport = createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: sessions });
      endpoint = { sessions, kv: createClient(KV, transport), admin: createClient(Admin, transport) };
      this.endpoints.set(address, endpoint);
    }
    return endpoint;
  }
}

// The requests are protobuf-es messages built as plain objects (no create() per request).

/** A put with a fresh request id, the same on every retry. */
function putRequest(key: Key, value: Key): PutRequest {
  return {
    $typeName: "tinyo.v1.PutRequest",
    key: bytes(key),
    value: bytes(value),
    requestId: randomBytes(16),
  };
}

function getRequest(key: Key, consistency: Consistency): GetRequest {
  return { $typeName: "tinyo.v1.GetRequest", key: bytes(key), consistency };
}

function deleteRequest(key: Key): DeleteRequest {
  return { $typeName: "tinyo.v1.DeleteRequest", key: bytes(key), requestId: randomBytes(16) };
}

function served(header: ResponseHeader | undefined): Served {
  return {
    partition: header?.partition ?? 0,
    leader: header?.leader ?? 0,
    term: Number(header?.term ?? 0n),
    index: Number(header?.index ?? 0n),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
