/**
 * The chaos workload: concurrent clients, each running one operation at a time on a small set of
 * keys (so that operations on a key overlap): half puts of values never written before
 * ("c<client>-<n>"), half gets. Each client has its own TinyoClient (its own routing cache and
 * connections), given the partition count so that no put can fail before it is sent.
 *
 * Gets at LINEARIZABLE or LEASE go through the TinyoClient, to the partition's leader. Gets at
 * STALE are follower reads, served by whichever replica is asked: each client asks its own home
 * node (client i -> node i mod N) directly over the KV service, as a client reading from its
 * nearest replica would; a node that holds no replica of the key forwards the read.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Consistency, TinyoClient } from "../client/index.js";
import { KV } from "../gen/tinyo/v1/kv_pb.js";
import type { Random } from "../node/random.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { HistoryRecorder } from "./recorder.js";

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly consistency: Consistency;
  readonly partitions: number;
  /** Deadline of one operation, the client's retries included. */
  readonly deadlineMs: number;
  readonly random: Random;
}

const decoder = new TextDecoder();
/** Think time between a client's operations, at most: keeps 2 cores from drowning. */
const MAX_THINK_MS = 5;

/** Runs the clients until `signal` aborts; resolves once every client's last operation ended. */
export async function runWorkload(
  cluster: ChaosCluster,
  recorder: HistoryRecorder,
  options: WorkloadOptions,
  signal: AbortSignal,
): Promise<void> {
  const sessions: Http2SessionManager[] = [];
  const clients: TinyoClient[] = [];
  try {
    await Promise.all(
      Array.from({ length: options.clients }, (_, i) => {
        const client = new TinyoClient({
          endpoints: rotate(cluster.endpoints, i),
          partitions: options.partitions,
          deadlineMs: options.deadlineMs,
        });
        clients.push(client);
        const home = cluster.endpoints[i % cluster.endpoints.length] as string;
        const session = new Http2SessionManager(`http://${home}`);
        sessions.push(session);
        const kv = createClient(
          KV,
          createConnectTransport({ baseUrl: `http://${home}`, httpVersion: "2", sessionManager: session }),
        );
        return runClient(i + 1, client, kv, recorder, options, signal);
      }),
    );
  } finally {
    for (const client of clients) client.close();
    for (const session of sessions) session.abort();
  }
}

async function runClient(
  id: number,
  client: TinyoClient,
  home: Client<typeof KV>,
  recorder: HistoryRecorder,
  options: WorkloadOptions,
  signal: AbortSignal,
): Promise<void> {
  const { random, keys, consistency, deadlineMs } = options;
  for (let n = 1; !signal.aborted; n++) {
    const key = keys[random.int(keys.length)] as string;
    if (random.chance(0.5)) {
      await recorder.put(id, key, `c${id}-${n}`, () => client.put(key, `c${id}-${n}`));
    } else if (consistency === Consistency.STALE) {
      await recorder.get(id, key, async () => {
        const response = await home.get(
          { key: new TextEncoder().encode(key), consistency },
          { timeoutMs: deadlineMs },
        );
        return response.found ? decoder.decode(response.value) : null;
      });
    } else {
      await recorder.get(id, key, async () => {
        const value = await client.get(key, consistency);
        return value === undefined ? null : decoder.decode(value);
      });
    }
    await sleep(random.int(MAX_THINK_MS + 1));
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
