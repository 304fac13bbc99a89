import { Flags } from "@oclif/core";
import type { Progress } from "../bench/load.js";
import { BenchOptionError, parseBenchFlags } from "../bench/options.js";
import { formatReport } from "../bench/report.js";
import { runTinyoBench } from "../bench/run.js";
import { endpointFlags, TinyoCommand } from "../cli/base-command.js";
import { UsageError } from "../cli/error-message.js";
import { prepareTerminalUi } from "../ui/terminal-ui.js";

export default class Bench extends TinyoCommand<typeof Bench> {
  static override summary =
    "Load a cluster with puts and gets and report throughput and latency percentiles.";

  static override description =
    `Closed loop by default: each of --clients callers sends its next operation when the
previous one is answered. With --rate, an open loop: operations start at that rate whatever
the answers, at most --clients in flight, and latency counts from each operation's intended
start (no coordinated omission). Keys are chosen uniformly among --keys keys. Latencies are
HDR histograms (microsecond resolution). The load generator's own CPU use is reported, so
that a saturated generator is not mistaken for a slow cluster.`;

  static override examples = [
    "<%= config.bin %> bench --clients 50 --ops 10000",
    "<%= config.bin %> bench --endpoints 127.0.0.1:50051 --duration 30s --mix put=20,get=80 --consistency stale",
    "<%= config.bin %> bench --endpoints 127.0.0.1:50051 --rate 500 --duration 10s --json",
  ];

  static override flags = {
    ...endpointFlags,
    clients: Flags.string({ summary: "Concurrent callers (1 to 10000).", default: "50" }),
    ops: Flags.string({ summary: "Operations in all (default 10000; not with --duration)." }),
    duration: Flags.string({ summary: "Run for this long instead of --ops: 30s, 2m, 500ms." }),
    "value-size": Flags.string({ summary: "Bytes per value (1 to 1048576).", default: "100" }),
    keys: Flags.string({ summary: "Distinct keys (1 to 10000000), chosen uniformly.", default: "10000" }),
    mix: Flags.string({
      summary: "Operation weights: put=50,get=50 (put, get, delete).",
      default: "put=50,get=50",
    }),
    consistency: Flags.string({ summary: "Reads: linearizable, lease or stale.", default: "linearizable" }),
    rate: Flags.string({ summary: "Open loop at this many operations per second." }),
    calls: Flags.string({
      summary: "stream: KV.Batch streams (many requests in flight on one); unary: one Put/Get call each.",
      options: ["stream", "unary"],
      default: "stream",
    }),
  };

  async run(): Promise<void> {
    const { flags } = this;
    let options: ReturnType<typeof parseBenchFlags>;
    try {
      options = parseBenchFlags({
        clients: flags.clients,
        ops: flags.ops,
        duration: flags.duration,
        valueSize: flags["value-size"],
        keys: flags.keys,
        mix: flags.mix,
        consistency: flags.consistency,
        rate: flags.rate,
      });
    } catch (error) {
      throw error instanceof BenchOptionError ? new UsageError(error.message) : error;
    }
    const { endpoints } = this.resolveCluster();
    const ui = !flags.json && process.stderr.isTTY === true ? await progressBar() : undefined;
    const onProgress = ui?.update;
    let report: Awaited<ReturnType<typeof runTinyoBench>>;
    try {
      report = await runTinyoBench(endpoints, options, flags.calls as "stream" | "unary", onProgress);
    } finally {
      ui?.unmount();
    }
    const settings = {
      endpoints,
      clients: options.clients,
      ops: options.ops,
      durationMs: options.durationMs,
      valueSize: options.valueSize,
      keys: options.keys,
      mix: options.mixText,
      consistency: options.consistency,
      rate: options.rate,
      calls: flags.calls,
    };
    if (flags.json) this.printJson({ settings, ...report });
    else this.log(formatReport(report));
  }
}

/** The progress bar on stderr; Ink and React are loaded only for it (terminal-ui.ts). */
async function progressBar(): Promise<{ update(progress: Progress): void; unmount(): void }> {
  prepareTerminalUi(process.stderr);
  const { render } = await import("ink");
  const { createElement } = await import("react");
  const { BenchProgress } = await import("../ui/bench-progress.js");
  const start: Progress = { done: 0, errors: 0, elapsedMs: 0, fraction: 0 };
  const instance = render(createElement(BenchProgress, { progress: start }), { stdout: process.stderr });
  return {
    update: (progress) => instance.rerender(createElement(BenchProgress, { progress })),
    unmount: () => instance.unmount(),
  };
}
