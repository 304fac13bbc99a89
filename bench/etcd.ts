/**
 * tinyo against etcd on this machine, in one run: a 3-member etcd (fsync on) and a 5-node tinyo
 * cluster (RF=3, fsync on), the same workloads against both, alternating, repeated, medians.
 *   npm run bench:etcd [-- --seconds 10 --rounds 3 --etcd /usr/bin/etcd --etcd-client light|grpc-js]
 * Workloads: puts with 1, 50 and 256 clients, linearizable gets with 50 clients; 100-byte
 * values over 10,000 keys; closed loop. Both systems are driven by the same load generator
 * (src/bench/load.ts: same scheduling, same HDR histograms, same process); only the client
 * differs, each system's lightest: tinyo's own client over KV.Batch streams (leader-direct),
 * etcd's gRPC API over a minimal node:http2 gRPC client (bench/etcd/light-grpc-client.ts; or
 * @grpc/grpc-js with --etcd-client grpc-js, which costs the generator much more CPU per call).
 * The generator's CPU is printed per run, so that a saturated generator shows. Before the
 * rounds, tinyo's leaders are balanced and each system gets 3 s of unmeasured warm-up load.
 * Every process started here is stopped at the end (SIGTERM, then SIGKILL), also on failure.
 * Printed, never asserted.
 */

import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runLoad } from "../src/bench/load.js";
import { parseMix } from "../src/bench/mix.js";
import { buildReport } from "../src/bench/report.js";
import type { Target } from "../src/bench/target.js";
import { TinyoTarget } from "../src/bench/tinyo-target.js";
import { Consistency } from "../src/client/tinyo-client.js";
import { TestCluster } from "../test/integration/harness.js";
import { EtcdCluster } from "./etcd/etcd-cluster.js";
import { EtcdTarget } from "./etcd/etcd-target.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    etcd: { type: "string", default: "etcd" },
    "etcd-client": { type: "string", default: "light" },
  },
});
const etcdClient = values["etcd-client"];
if (etcdClient !== "light" && etcdClient !== "grpc-js") {
  console.error(`--etcd-client ${etcdClient}: it must be light or grpc-js`);
  process.exit(2);
}
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
if (!(seconds >= 1 && seconds <= 600) || !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) {
  console.error("--seconds must be 1 to 600 and --rounds an integer from 1 to 20");
  process.exit(2);
}
let etcdVersion: string;
try {
  etcdVersion = execFileSync(values.etcd, ["--version"], { encoding: "utf8" }).split("\n")[0] ?? "";
} catch {
  console.error(
    `etcd not found (${values.etcd}): install it (Debian: apt-get install etcd-server) or pass --etcd PATH`,
  );
  process.exit(2);
}

const WORKLOADS = [
  { name: "put, 1 client", clients: 1, mix: "put=1" },
  { name: "put, 50 clients", clients: 50, mix: "put=1" },
  { name: "put, 256 clients", clients: 256, mix: "put=1" },
  { name: "linearizable get, 50 clients", clients: 50, mix: "get=1" },
] as const;
type System = "tinyo" | "etcd";
interface Sample {
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  generatorCpu: number;
  errors: number;
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${etcdVersion}`;
const loadBefore = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
console.log(`machine: ${machine}; etcd client: ${etcdClient}; load average at start ${loadBefore}`);

const tinyo = await TestCluster.create(5, { partitions: 32, tickMs: 50, token: "bench-etcd" });
let etcd: EtcdCluster | undefined;
const samples = new Map<string, Sample[]>();
try {
  tinyo.startAll();
  etcd = await EtcdCluster.start(values.etcd);
  // Measure the cluster as it runs, not as it starts: leaders spread by the balancer (until
  // then one node may lead most partitions).
  await tinyo.waitForBalancedLeaders(120_000);
  const etcdReady = new EtcdTarget(etcd.endpoints, etcdClient);
  await waitUntil(() => etcdReady.put(new TextEncoder().encode("bench-ready"), new Uint8Array(1)), 60_000);
  await etcdReady.close();

  const target = (system: System): Target =>
    system === "tinyo"
      ? new TinyoTarget({ endpoints: tinyo.endpoints, consistency: Consistency.LINEARIZABLE, mode: "stream" })
      : new EtcdTarget((etcd as EtcdCluster).endpoints, etcdClient);

  // A warm-up per system, not counted: the first seconds of a fresh process (JIT, caches,
  // connections) would otherwise weigh on round 1 of whichever system goes first.
  for (const system of ["tinyo", "etcd"] as const) {
    const t = target(system);
    if (t instanceof TinyoTarget) await t.prepare();
    await runLoad(t, {
      clients: 50,
      durationMs: 3000,
      valueSize: 100,
      keys: 10_000,
      mix: parseMix("put=1,get=1"),
    });
    await t.close();
  }

  for (let round = 0; round < rounds; round++) {
    for (const workload of WORKLOADS) {
      const order: System[] = round % 2 === 0 ? ["tinyo", "etcd"] : ["etcd", "tinyo"];
      for (const system of order) {
        const t = target(system);
        if (t instanceof TinyoTarget) await t.prepare();
        const report = buildReport(
          await runLoad(t, {
            clients: workload.clients,
            durationMs: seconds * 1000,
            valueSize: 100,
            keys: 10_000,
            mix: parseMix(workload.mix),
          }),
        );
        await t.close();
        const op = report.operations[0];
        const sample: Sample = {
          throughput: report.throughput,
          p50Ms: op?.p50Ms ?? 0,
          p99Ms: op?.p99Ms ?? 0,
          generatorCpu: report.generatorCpuPercent,
          errors: Object.values(report.errors).reduce((a, b) => a + b, 0),
        };
        const key = `${workload.name}/${system}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(
          `round ${round + 1} ${workload.name.padEnd(30)} ${system.padEnd(5)} ${sample.throughput.toFixed(0).padStart(6)} ops/s` +
            `  p50 ${sample.p50Ms.toFixed(2)} ms  p99 ${sample.p99Ms.toFixed(2)} ms  generator CPU ${sample.generatorCpu.toFixed(0)}%` +
            (sample.errors > 0 ? `  errors ${sample.errors}` : ""),
        );
      }
    }
  }
} finally {
  await Promise.all([tinyo.stopAll("SIGTERM", 10_000), etcd?.stop()]);
  tinyo.removeData();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
console.log(
  `\nmedians of ${rounds} round(s) of ${seconds} s each; load average at start ${loadBefore}, at end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}\n`,
);
console.log(
  "| workload | tinyo ops/s | tinyo p50 / p99 ms | etcd ops/s | etcd p50 / p99 ms | tinyo/etcd throughput |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const workload of WORKLOADS) {
  const row = (system: System) => {
    const s = samples.get(`${workload.name}/${system}`) ?? [];
    return {
      ops: median(s.map((x) => x.throughput)),
      p50: median(s.map((x) => x.p50Ms)),
      p99: median(s.map((x) => x.p99Ms)),
    };
  };
  const a = row("tinyo");
  const b = row("etcd");
  console.log(
    `| ${workload.name} | ${a.ops.toFixed(0)} | ${a.p50.toFixed(1)} / ${a.p99.toFixed(1)} | ${b.ops.toFixed(0)} | ` +
      `${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} | ${b.ops > 0 ? (a.ops / b.ops).toFixed(2) : "-"} |`,
  );
}

async function waitUntil(check: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`etcd did not answer within ${timeoutMs} ms: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
