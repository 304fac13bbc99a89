/**
 * tinyo as a benchmark target, through the project's own client (routing cache, leader-direct
 * requests, retries). `stream` sends every operation over KV.Batch streams (one per node, many
 * requests in flight on each), which costs far less CPU per operation on both sides than one
 * unary call each; `unary` measures the plain Put/Get calls that any gRPC client makes.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import { Consistency, type TinyoBatch, TinyoClient } from "../client/tinyo-client.js";
import type { Target } from "./target.js";

export type TinyoCallMode = "stream" | "unary";

export interface TinyoTargetOptions {
  readonly endpoints: readonly string[];
  readonly consistency: Consistency;
  readonly mode: TinyoCallMode;
  readonly deadlineMs?: number;
}

export class TinyoTarget implements Target {
  private readonly client: TinyoClient;
  private readonly batch: TinyoBatch | undefined;

  constructor(private readonly options: TinyoTargetOptions) {
    this.client = new TinyoClient({ endpoints: options.endpoints, deadlineMs: options.deadlineMs });
    this.batch = options.mode === "stream" ? this.client.batch() : undefined;
  }

  /** Loads the routing table (so that the first requests go straight to the leaders). */
  async prepare(): Promise<void> {
    await this.client.routes();
    await this.client.get("bench-warmup", Consistency.STALE);
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await (this.batch ?? this.client).put(key, value);
  }

  async get(key: Uint8Array): Promise<void> {
    await (this.batch ?? this.client).get(key, this.options.consistency);
  }

  async delete(key: Uint8Array): Promise<void> {
    await (this.batch ?? this.client).delete(key);
  }

  errorCode(error: unknown): string {
    return Code[ConnectError.from(error).code] ?? "Unknown";
  }

  async close(): Promise<void> {
    await this.batch?.close();
    this.client.close();
  }
}
