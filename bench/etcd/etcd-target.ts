/**
 * etcd as a benchmark target: its gRPC KV API (Put, and Range with serializable=false, i.e.
 * linearizable) called with @grpc/grpc-js, one channel per member, requests spread round-robin
 * as etcd's own clients do (a follower forwards a write to its leader).
 */

import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Target } from "../../src/bench/target.js";

type Unary = (
  request: object,
  options: grpc.CallOptions,
  done: (error: grpc.ServiceError | null) => void,
) => void;
interface KvClient extends grpc.Client {
  Put: Unary;
  Range: Unary;
}

const DEADLINE_MS = 5000;

export class EtcdTarget implements Target {
  private readonly clients: KvClient[];
  private next = 0;

  constructor(endpoints: readonly string[]) {
    const definition = protoLoader.loadSync(resolve(import.meta.dirname, "kv.proto"), { longs: String });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      etcdserverpb: { KV: new (address: string, credentials: grpc.ChannelCredentials) => KvClient };
    };
    this.clients = endpoints.map((e) => new loaded.etcdserverpb.KV(e, grpc.credentials.createInsecure()));
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.call("Put", { key, value });
  }

  get(key: Uint8Array): Promise<void> {
    return this.call("Range", { key, serializable: false });
  }

  delete(): Promise<void> {
    return Promise.reject(new Error("the etcd target benchmarks puts and gets only"));
  }

  errorCode(error: unknown): string {
    const code = (error as Partial<grpc.ServiceError>).code;
    return code === undefined ? "Unknown" : (grpc.status[code] ?? String(code));
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.close();
  }

  private call(method: "Put" | "Range", request: object): Promise<void> {
    const client = this.clients[this.next++ % this.clients.length] as KvClient;
    return new Promise((done, fail) =>
      client[method](request, { deadline: Date.now() + DEADLINE_MS }, (error) =>
        error ? fail(error) : done(),
      ),
    );
  }
}
