import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Flags } from "@oclif/core";
import { ControlledCluster } from "../chaos/controlled-cluster.js";
import { writeAnomalies, writeHistory } from "../chaos/history-file.js";
import { LocalCluster } from "../chaos/local-cluster.js";
import {
  ChaosUsageError,
  parseConsistency,
  parseCount,
  parseDuration,
  parseNemesis,
  parseSeed,
} from "../chaos/options.js";
import { type ChaosProgress, type ChaosResult, type ChaosTarget, runChaos } from "../chaos/run.js";
import { TinyoCommand } from "../cli/base-command.js";
import { UsageError } from "../cli/error-message.js";
import { ClusterControl, ClusterNotRunningError } from "../cluster/index.js";
import { PLACEMENT_DEFAULTS } from "../node/ring/index.js";

/** The Raft tick of the cluster a run starts: the node's default. */
const TICK_MS = 50;

export default class Chaos extends TinyoCommand<typeof Chaos> {
  static override summary =
    "Jepsen-style fault test: concurrent clients, a nemesis, and a linearizability check.";

  static override description =
    `Runs concurrent clients doing puts of unique values and gets on a few keys while a seeded
nemesis kills, pauses and partitions nodes, then heals everything, reads every key once more
and checks that the whole history is linearizable. By default it starts a temporary cluster of
its own; --use-cluster runs it on the local cluster named by --cluster instead (its nodes get
killed, paused and partitioned; the keys are chaos-<seed>-k1...).
Ends with one line: "chaos: linearizable, ..." (exit 0) or "chaos: NOT linearizable, key K,
..." (exit 1) with the smallest anomalous window written to a file. Exit 2: bad usage; exit 3:
the checker gave up (budget) without finding an anomaly.`;

  static override examples = [
    "<%= config.bin %> chaos --duration 60s --seed 42",
    "<%= config.bin %> chaos --duration 20s --nemesis partition --consistency stale   # finds stale reads",
    "<%= config.bin %> chaos --use-cluster --cluster default --duration 2m",
  ];

  static override flags = {
    duration: Flags.string({
      summary: "How long the clients and the nemesis run (1s to 24h).",
      default: "60s",
    }),
    nemesis: Flags.string({
      summary: "Faults: any of kill,pause,partition,membership, or none.",
      default: "kill,pause,partition",
    }),
    clients: Flags.string({ summary: "Concurrent clients (1 to 100).", default: "10" }),
    keys: Flags.string({ summary: "Keys the clients share (1 to 1000).", default: "8" }),
    seed: Flags.string({ summary: "Seed of the workload and the nemesis (default: random, printed)." }),
    history: Flags.string({ summary: "Write the history (JSON lines) to this file." }),
    consistency: Flags.string({
      summary: "Consistency of the gets: linearizable, lease or stale.",
      default: "linearizable",
    }),
    nodes: Flags.string({ summary: "Nodes of the cluster the run starts (3 to 9).", default: "5" }),
    partitions: Flags.string({
      summary: "Partitions of the cluster the run starts (1 to 256).",
      default: "16",
    }),
    "use-cluster": Flags.boolean({
      summary: "Run on the local cluster named by --cluster instead of starting one.",
    }),
    keep: Flags.boolean({ summary: "Keep the node logs of a passing run too (its data is deleted)." }),
  };

  async run(): Promise<void> {
    const { flags } = this;
    const options = this.parseOptions();
    const { seed, durationMs } = options;
    const target = await this.target(options.nodes, options.partitions);
    if (!flags.json) {
      process.stderr.write(
        `chaos: seed ${seed}, ${target.cluster.nodeIds.length} nodes, ${options.clients} clients on ` +
          `${options.keys} keys, nemesis ${flags.nemesis}, gets ${flags.consistency}, ${durationMs / 1000} s\n`,
      );
    }
    const result = await runChaos(
      {
        ...options,
        keyPrefix: flags["use-cluster"] ? `chaos-${seed}-` : "",
        onProgress: flags.json ? undefined : (p) => process.stderr.write(progressLine(p, durationMs)),
      },
      target,
    );
    if (flags.history) writeHistory(flags.history, { ...flags, seed }, result.faults, result.history);
    const { verdict, line, anomalyFile } = conclude(result, seed, target.logs, !flags["use-cluster"]);
    const local = target.cluster instanceof LocalCluster ? target.cluster : undefined;
    if (local && verdict === "linearizable") removeRun(local.dir, flags.keep);
    if (flags.json) {
      this.printJson({
        verdict,
        seed,
        ops: result.history.length,
        ...result.counts,
        faults: result.faults.map((f) => f.description),
        keys: result.check.keys,
        anomalyFile,
        unreadKeys: result.unreadKeys,
        settled: result.settled,
        logs: verdict === "linearizable" && !flags.keep && local ? undefined : target.logs,
        nodePids: local?.pids ?? [],
      });
    } else {
      this.log(line);
    }
    if (verdict !== "linearizable") this.exit(verdict === "gave up" ? 3 : 1);
  }

  private parseOptions() {
    const { flags } = this;
    try {
      return {
        durationMs: parseDuration(flags.duration),
        nemesis: parseNemesis(flags.nemesis),
        clients: parseCount("clients", flags.clients),
        keys: parseCount("keys", flags.keys),
        nodes: parseCount("nodes", flags.nodes),
        partitions: parseCount("partitions", flags.partitions),
        consistency: parseConsistency(flags.consistency),
        seed: parseSeed(flags.seed),
      };
    } catch (error) {
      if (error instanceof ChaosUsageError) throw new UsageError(error.message);
      throw error;
    }
  }

  /** A cluster of the run's own (closed and killed at the end), or the local one, left running. */
  private async target(nodes: number, partitions: number): Promise<ChaosTarget> {
    const { flags } = this;
    if (flags["use-cluster"]) {
      const control = ClusterControl.open({ home: flags.home, cluster: flags.cluster });
      if (!control.isRunning()) throw new ClusterNotRunningError(control.name);
      return {
        cluster: new ControlledCluster(control),
        partitions: control.spec.settings.partitions,
        replication: control.spec.settings.replication,
        vnodes: control.spec.settings.vnodes,
        logs: control.paths.dir,
        close: async () => {},
      };
    }
    const cluster = await LocalCluster.start({
      nodes,
      partitions,
      tickMs: TICK_MS,
      execArgv: process.execArgv,
      entry: process.argv[1] as string,
    });
    // The local cluster's nodes run with the defaults: RF 3 (or fewer nodes), 64 vnodes.
    return {
      cluster,
      partitions,
      replication: Math.min(PLACEMENT_DEFAULTS.replication, nodes),
      vnodes: PLACEMENT_DEFAULTS.vnodes,
      logs: cluster.dir,
      close: () => cluster.close(),
    };
  }
}

function conclude(result: ChaosResult, seed: number, dir: string, ownCluster: boolean) {
  const { check, counts, faults, unreadKeys } = result;
  const summary = `${result.history.length} ops, ${faults.length} faults, ${counts.indeterminate} indeterminate`;
  const [first] = check.anomalies;
  if (first) {
    const anomalyFile = join(dir, ownCluster ? "anomaly.txt" : `chaos-${seed}-anomaly.txt`);
    const faultLines = faults.map(
      (f) =>
        `  ${f.at.toFixed(0)}-${f.healedAt === undefined ? "end" : f.healedAt.toFixed(0)} ms: ${f.description}`,
    );
    writeAnomalies(
      anomalyFile,
      [`tinyo chaos, seed ${seed}: ${summary}`, "faults:", ...faultLines].join("\n"),
      check.anomalies,
    );
    const { window } = first;
    const more = check.anomalies.length > 1 ? ` (and ${check.anomalies.length - 1} more keys)` : "";
    return {
      verdict: "not linearizable" as const,
      anomalyFile,
      line:
        `chaos: NOT linearizable, key ${first.key}, ${window.ops.length} ops in ${windowSpan(window.start, window.end)}` +
        `${more}; window in ${anomalyFile}; ${summary}, seed ${seed}`,
    };
  }
  if (unreadKeys.length > 0) {
    return {
      verdict: "not linearizable" as const,
      anomalyFile: undefined,
      line: `chaos: NOT verified, the final read of ${unreadKeys.join(", ")} failed after healing; node logs in ${dir}; ${summary}, seed ${seed}`,
    };
  }
  if (check.verdict === "gave up") {
    const keys = check.keys.filter((k) => k.verdict === "gave up").map((k) => k.key);
    return {
      verdict: "gave up" as const,
      anomalyFile: undefined,
      line: `chaos: UNKNOWN, the checker gave up on ${keys.join(", ")} (search budget); ${summary}, seed ${seed}`,
    };
  }
  return {
    verdict: "linearizable" as const,
    anomalyFile: undefined,
    line: `chaos: linearizable, ${summary}`,
  };
}

/** Deletes a passing run's directory; with `keepLogs`, only its nodes' data directories. */
function removeRun(dir: string, keepLogs: boolean): void {
  if (!keepLogs) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) rmSync(join(dir, entry.name), { recursive: true, force: true });
  }
}

function windowSpan(start: number, end: number): string {
  const from = start === -Infinity ? "the start" : `${start.toFixed(0)} ms`;
  return `${from} to ${end === Infinity ? "the end" : `${end.toFixed(0)} ms`}`;
}

function progressLine(p: ChaosProgress, durationMs: number): string {
  const { ok, failed, indeterminate } = p.counts;
  return (
    `chaos: ${(p.elapsedMs / 1000).toFixed(0)}/${durationMs / 1000} s  ops ${ok + failed + indeterminate} ` +
    `(ok ${ok}, failed ${failed}, indeterminate ${indeterminate})  faults ${p.faults}` +
    `${p.current ? `  now: ${p.current}` : ""}\n`
  );
}
