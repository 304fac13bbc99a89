/**
 * One chaos run on a cluster (one it started, or a `tinyo cluster up` one): wait for leaders,
 * run the workload and the nemesis side by side for the duration, heal everything and let the
 * cluster settle, read every key once more (those reads are part of the history, so no
 * acknowledged write may be missing from them), and check the history.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type Consistency, TinyoClient } from "../client/index.js";
import { Random } from "../node/random.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import { type CheckResult, checkHistory } from "./checker.js";
import type { Operation } from "./history.js";
import { MembershipFaults } from "./membership-faults.js";
import { type FaultRecord, Nemesis, type NemesisKind } from "./nemesis.js";
import { NetworkFaults } from "./network-faults.js";
import { type HistoryCounts, HistoryRecorder } from "./recorder.js";
import { runWorkload } from "./workload.js";

export interface ChaosOptions {
  readonly durationMs: number;
  readonly nemesis: readonly NemesisKind[];
  readonly clients: number;
  readonly keys: number;
  /** Prefix of the key names (k1, k2...): keeps a run on a shared cluster off other keys. */
  readonly keyPrefix: string;
  readonly seed: number;
  readonly consistency: Consistency;
  readonly onProgress?: (progress: ChaosProgress) => void;
}

/** The cluster a run works on, and what to do with it at the end. */
export interface ChaosTarget {
  readonly cluster: ChaosCluster;
  readonly partitions: number;
  /** The cluster's replication factor and vnodes (a membership fault's Join carries them). */
  readonly replication: number;
  readonly vnodes: number;
  /** Where the node logs are, for messages. */
  readonly logs: string;
  /** Called once the run is over, whatever happened. */
  close(): Promise<void>;
}

export interface ChaosProgress {
  readonly elapsedMs: number;
  readonly counts: HistoryCounts;
  readonly faults: number;
  /** The fault in force, if any. */
  readonly current: string | undefined;
}

export interface ChaosResult {
  readonly history: readonly Operation[];
  readonly faults: readonly FaultRecord[];
  readonly counts: HistoryCounts;
  readonly check: CheckResult;
  /** Keys whose final read never succeeded. */
  readonly unreadKeys: readonly string[];
  /** Whether every partition had one leader again before the final reads. */
  readonly settled: boolean;
}

/** The client's deadline for one operation in the workload. */
const OPERATION_DEADLINE_MS = 3000;
const STARTUP_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 30_000;
const FINAL_READ_ATTEMPTS = 5;
const PROGRESS_EVERY_MS = 1000;

export class ChaosSetupError extends Error {
  override name = "ChaosSetupError";
}

/** Something other than the store failed during the run (the run's own machinery). */
export class ChaosRunError extends Error {
  override name = "ChaosRunError";
}

export async function runChaos(options: ChaosOptions, target: ChaosTarget): Promise<ChaosResult> {
  const { cluster, partitions } = target;
  const admin = new TinyoClient({ endpoints: cluster.endpoints, partitions });
  try {
    const network = new NetworkFaults(cluster, admin);
    if (!(await settle(network, partitions, STARTUP_TIMEOUT_MS))) {
      throw new ChaosSetupError(
        `the cluster did not elect a leader for every partition within ${STARTUP_TIMEOUT_MS / 1000} s; ` +
          `node logs are in ${target.logs}`,
      );
    }
    const recorder = new HistoryRecorder();
    const random = new Random(options.seed);
    const members = new MembershipFaults(cluster, admin, {
      partitions,
      replication: target.replication,
      vnodes: target.vnodes,
    });
    const nemesis = new Nemesis(cluster, network, members, {
      kinds: options.nemesis,
      random: new Random(options.seed, 1),
      partitions,
      now: () => recorder.now(),
      quietMs: [1000, 3000],
      holdMs: [2000, 5000],
    });
    const keys = Array.from({ length: options.keys }, (_, i) => `${options.keyPrefix}k${i + 1}`);
    const stop = new AbortController();
    const progress = setInterval(() => {
      const last = nemesis.faults.at(-1);
      options.onProgress?.({
        elapsedMs: recorder.now(),
        counts: recorder.tally,
        faults: nemesis.faults.length,
        current: last && last.healedAt === undefined ? last.description : undefined,
      });
    }, PROGRESS_EVERY_MS);
    const timer = setTimeout(() => stop.abort(), options.durationMs);
    try {
      await Promise.all([
        runWorkload(
          cluster,
          recorder,
          {
            clients: options.clients,
            keys,
            consistency: options.consistency,
            partitions,
            deadlineMs: OPERATION_DEADLINE_MS,
            random,
          },
          stop.signal,
        ),
        options.nemesis.length > 0 ? nemesis.run(stop.signal) : Promise.resolve(),
      ]);
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
      stop.abort();
      await nemesis.heal();
    }
    const settled = await settle(network, partitions, SETTLE_TIMEOUT_MS);
    const unreadKeys = await finalReads(cluster.endpoints, partitions, keys, recorder);
    const history = recorder.history;
    return {
      history,
      faults: nemesis.faults,
      counts: recorder.tally,
      check: checkHistory(history),
      unreadKeys,
      settled,
    };
  } catch (error) {
    if (error instanceof ChaosSetupError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ChaosRunError(`the chaos run failed: ${message}; node logs are in ${target.logs}`);
  } finally {
    admin.close();
    await target.close();
  }
}

/** Waits until every node answers and every partition has one leader; whether it happened. */
async function settle(network: NetworkFaults, partitions: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await network.leaders(partitions)).settled) return true;
    await sleep(200);
  }
  return false;
}

/**
 * A linearizable read of every key by a fresh client (id 0), recorded in the history; a key
 * is tried a few times. Returns the keys never read.
 */
async function finalReads(
  endpoints: readonly string[],
  partitions: number,
  keys: readonly string[],
  recorder: HistoryRecorder,
): Promise<string[]> {
  const client = new TinyoClient({ endpoints, partitions, deadlineMs: 10_000 });
  const decoder = new TextDecoder();
  const unread: string[] = [];
  try {
    for (const key of keys) {
      let read = false;
      for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && !read; attempt++) {
        const value = await recorder.get(0, key, async () => {
          const bytes = await client.get(key);
          return bytes === undefined ? null : decoder.decode(bytes);
        });
        read = value !== undefined;
      }
      if (!read) unread.push(key);
    }
  } finally {
    client.close();
  }
  return unread;
}
