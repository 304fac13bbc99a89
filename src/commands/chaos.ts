import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Command, Errors, Flags } from "@oclif/core";
import { writeAnomalies, writeHistory } from "../chaos/history-file.js";
import {
  ChaosUsageError,
  parseConsistency,
  parseCount,
  parseDuration,
  parseNemesis,
  parseSeed,
} from "../chaos/options.js";
import { type ChaosProgress, type ChaosResult, runChaos } from "../chaos/run.js";

export default class Chaos extends Command {
  static override summary =
    "Jepsen-style fault test: concurrent clients, a nemesis, and a linearizability check.";

  static override description =
    `Starts a local cluster of its own, runs concurrent clients doing puts of unique values
and gets on a few keys while a seeded nemesis kills, pauses and partitions nodes, then heals
everything, reads every key once more and checks that the whole history is linearizable.
Ends with one line: "chaos: linearizable, ..." (exit 0) or "chaos: NOT linearizable, key K,
..." (exit 1) with the smallest anomalous window written to a file. Exit 2: bad usage; exit 3:
the checker gave up (budget) without finding an anomaly.`;

  static override examples = [
    "<%= config.bin %> chaos --duration 60s --seed 42",
    "<%= config.bin %> chaos --duration 20s --nemesis partition --consistency stale   # finds stale reads",
  ];

  static override flags = {
    duration: Flags.string({
      summary: "How long the clients and the nemesis run (1s to 24h).",
      default: "60s",
    }),
    nemesis: Flags.string({
      summary: "Faults: any of kill,pause,partition, or none.",
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
    partitions: Flags.string({ summary: "Partitions of that cluster (1 to 256).", default: "16" }),
    json: Flags.boolean({ summary: "Print the result as one JSON object; no progress." }),
    keep: Flags.boolean({ summary: "Keep the node logs of a passing run too (its data is deleted)." }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Chaos);
    const durationMs = parseDuration(flags.duration);
    const seed = parseSeed(flags.seed);
    const options = {
      durationMs,
      nemesis: parseNemesis(flags.nemesis),
      clients: parseCount("clients", flags.clients),
      keys: parseCount("keys", flags.keys),
      nodes: parseCount("nodes", flags.nodes),
      partitions: parseCount("partitions", flags.partitions),
      consistency: parseConsistency(flags.consistency),
      seed,
    };
    if (!flags.json) {
      process.stderr.write(
        `chaos: seed ${seed}, ${options.nodes} nodes, ${options.clients} clients on ${options.keys} keys, ` +
          `nemesis ${flags.nemesis}, gets ${flags.consistency}, ${durationMs / 1000} s\n`,
      );
    }
    const result = await runChaos({
      ...options,
      tickMs: 50,
      execArgv: process.execArgv,
      entry: process.argv[1] as string,
      onProgress: flags.json ? undefined : (p) => process.stderr.write(progressLine(p, durationMs)),
    });
    if (flags.history) {
      writeHistory(flags.history, { ...flags, seed }, result.faults, result.history);
    }
    const { verdict, line, anomalyFile } = this.conclude(result, seed);
    if (verdict === "linearizable") removeRun(result.clusterDir, flags.keep);
    if (flags.json) {
      this.log(
        JSON.stringify({
          verdict,
          seed,
          ops: result.history.length,
          ...result.counts,
          faults: result.faults.map((f) => f.description),
          keys: result.check.keys,
          anomalyFile,
          unreadKeys: result.unreadKeys,
          clusterDir: verdict === "linearizable" && !flags.keep ? undefined : result.clusterDir,
          nodePids: result.nodePids,
        }),
      );
    } else {
      this.log(line);
    }
    if (verdict !== "linearizable") this.exit(verdict === "gave up" ? 3 : 1);
  }

  private conclude(result: ChaosResult, seed: number) {
    const { check, counts, faults, unreadKeys, clusterDir } = result;
    const summary = `${result.history.length} ops, ${faults.length} faults, ${counts.indeterminate} indeterminate`;
    const [first] = check.anomalies;
    if (first) {
      const anomalyFile = join(clusterDir, "anomaly.txt");
      const faultLines = faults.map(
        (f) =>
          `  ${f.at.toFixed(0)}-${f.healedAt === undefined ? "end" : f.healedAt.toFixed(0)} ms: ${f.description}`,
      );
      writeAnomalies(
        anomalyFile,
        [`tinyo chaos, seed ${seed}: ${summary}`, "faults:", ...faultLines].join("\n"),
        check.anomalies,
      );
      const w = first.window;
      return {
        verdict: "not linearizable" as const,
        anomalyFile,
        line:
          `chaos: NOT linearizable, key ${first.key}, ${w.ops.length} ops in ${windowSpan(w.start, w.end)}` +
          `${check.anomalies.length > 1 ? ` (and ${check.anomalies.length - 1} more keys)` : ""}; ` +
          `window in ${anomalyFile}; ${summary}, seed ${seed}`,
      };
    }
    if (unreadKeys.length > 0) {
      return {
        verdict: "not linearizable" as const,
        anomalyFile: undefined,
        line: `chaos: NOT verified, the final read of ${unreadKeys.join(", ")} failed after healing; node logs in ${clusterDir}; ${summary}, seed ${seed}`,
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

  /** One line on stderr: exit 2 for bad usage, else 1 (oclif's own exits pass through). */
  override async catch(error: Error & { exitCode?: number }): Promise<void> {
    if (error instanceof Errors.ExitError) throw error;
    const usage = error instanceof ChaosUsageError || (error instanceof Errors.CLIError && "parse" in error);
    process.stderr.write(`Error: ${(error.message.split("\n")[0] ?? "").trim()}\n`);
    this.exit(usage ? 2 : 1);
  }
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
