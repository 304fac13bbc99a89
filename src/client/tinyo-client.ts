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
 */

import { randomBytes } from "node:crypto";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin, type RoutesResponse } from "../gen/tinyo/v1/admin_pb.js";
import { Consistency, KV, type ResponseHeader } from "../gen/tinyo/v1/kv_pb.js";
import { partitionOf } from "../node/ring/hash.js";
import { backoffMs, DEFAULT_DEADLINE_MS, leaderHintOf } from "./wire.js";

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

interface Endpoint {
  readonly sessions: Http2SessionManager;
  readonly kv: Client<typeof KV>;
  readonly admin: Client<typeof Admin>;
}

const encoder = new TextEncoder();
const bytes = (key: Key): Uint8Array => (typeof key === "string" ? encoder.encode(key) : key);
const SCAN_PAGE = 10_000;
const SCAN_CONCURRENCY = 8;

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
    const request = { key: bytes(key), value: bytes(value), requestId: randomBytes(16) };
    const response = await this.call(request.key, (kv, timeoutMs) => kv.put(request, { timeoutMs }));
    return served(response.header);
  }

  /** The value, or undefined when the key does not exist. */
  async get(key: Key, consistency = Consistency.LINEARIZABLE): Promise<Uint8Array | undefined> {
    const request = { key: bytes(key), consistency };
    const response = await this.call(request.key, (kv, timeoutMs) => kv.get(request, { timeoutMs }));
    return response.found ? response.value : undefined;
  }

  /** Whether the key existed. */
  async delete(key: Key): Promise<boolean> {
    const request = { key: bytes(key), requestId: randomBytes(16) };
    const response = await this.call(request.key, (kv, timeoutMs) => kv.delete(request, { timeoutMs }));
    return response.existed;
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

  private async call<R extends { header?: ResponseHeader }>(
    key: Uint8Array,
    send: (kv: Client<typeof KV>, timeoutMs: number) => Promise<R>,
  ): Promise<R> {
    if (key.length === 0) {
      // Checked here too, so that the error does not wait for a partition count.
      throw new ConnectError("the key is empty: a key must be 1 to 4096 bytes", Code.InvalidArgument);
    }
    const partition = partitionOf(key, await this.partitionCount());
    const response = await this.withRetries(partition, (endpoint, timeoutMs) => send(endpoint.kv, timeoutMs));
    this.learn(response.header);
    return response;
  }

  private async withRetries<R>(
    partition: number | undefined,
    send: (endpoint: Endpoint, timeoutMs: number) => Promise<R>,
  ): Promise<R> {
    const deadline = Date.now() + this.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const address = this.target(partition);
      try {
        return await send(this.endpoint(address), Math.max(1, deadline - Date.now()));
      } catch (error) {
        const err = ConnectError.from(error);
        if (err.code !== Code.Unavailable || Date.now() >= deadline) throw err;
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

function served(header: ResponseHeader | undefined): Served {
  return {
    partition: header?.partition ?? 0,
    leader: header?.leader ?? 0,
    term: Number(header?.term ?? 0n),
    index: Number(header?.index ?? 0n),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
