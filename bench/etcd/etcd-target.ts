/**
 * etcd as a benchmark target: its gRPC KV API (Put, and Range with serializable=false, i.e.
 * linearizable), one connection per member, requests spread round-robin as etcd's own clients
 * do (a follower forwards a write to its leader). Two clients: "light" (light-grpc-client.ts:
 * node:http2 with hand-encoded requests, the default) and "grpc-js" (@grpc/grpc-js with a
 * trimmed copy of etcd's proto), which costs the generator several times the CPU per call.
 */

import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Target } from "../../src/bench/target.js";
import { encodeFields, GrpcCallError, LightGrpcClient } from "./light-grpc-client.js";

export type EtcdClientKind = "light" | "grpc-js";

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

/** Calls one of etcd's KV methods on the next member. */
type Call = (method: "Put" | "Range", key: Uint8Array, value?: Uint8Array) => Promise<void>;

export class EtcdTarget implements Target {
  private readonly call: Call;
  private readonly closeClients: () => void;

  constructor(endpoints: readonly string[], kind: EtcdClientKind = "light") {
    let next = 0;
    if (kind === "light") {
      const clients = endpoints.map((e) => new LightGrpcClient(e));
      this.call = (method, key, value) => {
        const client = clients[next++ % clients.length] as LightGrpcClient;
        // PutRequest: key = 1, value = 2. RangeRequest: key = 1; serializable (7) false is the default.
        const message =
          value === undefined
            ? encodeFields([[1, key]])
            : encodeFields([
                [1, key],
                [2, value],
              ]);
        return client.call(`/etcdserverpb.KV/${method}`, message, DEADLINE_MS);
      };
      this.closeClients = () => {
        for (const client of clients) client.close();
      };
      return;
    }
    const definition = protoLoader.loadSync(resolve(import.meta.dirname, "kv.proto"), { longs: String });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      etcdserverpb: { KV: new (address: string, credentials: grpc.ChannelCredentials) => KvClient };
    };
    const clients = endpoints.map((e) => new loaded.etcdserverpb.KV(e, grpc.credentials.createInsecure()));
    this.call = (method, key, value) => {
      const client = clients[next++ % clients.length] as KvClient;
      const request = method === "Put" ? { key, value } : { key, serializable: false };
      return new Promise((done, fail) =>
        client[method](request, { deadline: Date.now() + DEADLINE_MS }, (error) =>
          error ? fail(error) : done(),
        ),
      );
    };
    this.closeClients = () => {
      for (const client of clients) client.close();
    };
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.call("Put", key, value);
  }

  get(key: Uint8Array): Promise<void> {
    return this.call("Range", key);
  }

  delete(): Promise<void> {
    return Promise.reject(new Error("the etcd target benchmarks puts and gets only"));
  }

  errorCode(error: unknown): string {
    const code = error instanceof GrpcCallError ? error.code : (error as Partial<grpc.ServiceError>).code;
    return code === undefined ? "Unknown" : (grpc.status[code] ?? String(code));
  }

  async close(): Promise<void> {
    this.closeClients();
  }
}
