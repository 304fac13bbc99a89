/**
 * Starting a local cluster: create (or reopen) its directory, check its ports, start the
 * detached supervisor, and wait until every partition has a leader. On an existing directory the
 * cluster restarts from its data. Any failure stops whatever was started, so that nothing is left
 * running, and says why in one line.
 */

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { clusterDown, stopOrphans } from "./cluster-down.js";
import { ClusterControl, type ClusterRef, type ClusterStatus } from "./control.js";
import { ClusterError } from "./errors.js";
import { type CliEntry, currentCliEntry, logFile } from "./node-process.js";
import { type ClusterPaths, clusterPaths, DEFAULT_CLUSTER, tinyoHome } from "./paths.js";
import { firstBusyPort } from "./ports.js";
import { pidAlive } from "./processes.js";
import { agreedLeaders, leadersHeld, nodeStatuses } from "./readiness.js";
import { type ClusterSpec, newSpec, readSpec, SPEC_DEFAULTS, writeSpec } from "./spec.js";
import { readSupervisorInfo } from "./state.js";
import { validateUpOptions } from "./up-options.js";

export interface ClusterUpOptions extends ClusterRef {
  /** Only for a new cluster (an existing one keeps its members, ports and partitioning). */
  readonly nodes?: number;
  readonly basePort?: number;
  readonly partitions?: number;
  readonly replication?: number;
  readonly vnodes?: number;
  /** May change on every `cluster up`. */
  readonly fsync?: boolean;
  readonly tickMs?: number;
  /** How long to wait for a leader in every partition; default 60 s. */
  readonly timeoutMs?: number;
  /** What runs `tinyo cluster supervise`; default: this process's Node.js and script. */
  readonly entry?: CliEntry;
}

export interface ClusterUpResult {
  readonly status: ClusterStatus;
  /** How many partitions each node leads. */
  readonly leadersHeld: ReadonlyMap<number, number>;
  readonly created: boolean;
  /** It was already running: nothing was started. */
  readonly alreadyRunning: boolean;
  readonly elapsedMs: number;
}

const SUPERVISOR_START_MS = 15_000;

export async function clusterUp(options: ClusterUpOptions = {}): Promise<ClusterUpResult> {
  const started = Date.now();
  const home = tinyoHome(options.home);
  const paths = clusterPaths(home, options.cluster ?? DEFAULT_CLUSTER);
  const ref = { home: options.home, cluster: paths.name };
  const existing = readSpec(paths);
  if (existing) {
    const control = ClusterControl.open(ref);
    if (control.status().supervisor.alive) {
      const ready = await waitReady(control, options.timeoutMs ?? 60_000);
      return { ...ready, created: false, alreadyRunning: true, elapsedMs: Date.now() - started };
    }
    await stopOrphans(control); // nodes left behind by a supervisor that died
  }
  const spec = existing ? reopened(existing, options) : created(paths.name, options);
  const busy = await firstBusyPort(spec.members);
  if (busy) {
    const what = busy.use === "node" ? `node ${busy.member.id}` : `node ${busy.member.id}'s ${busy.use}`;
    throw new ClusterError(
      `port ${busy.port} (${what}, ${busy.member.host}) is in use; stop what uses it${
        existing ? "" : " or choose another --base-port"
      }`,
    );
  }
  mkdirSync(paths.dir, { recursive: true });
  writeSpec(paths, spec);
  const control = ClusterControl.open(ref);
  try {
    await startSupervisor(home, paths, options.entry ?? currentCliEntry());
    const ready = await waitReady(control, options.timeoutMs ?? 60_000);
    return { ...ready, created: !existing, alreadyRunning: false, elapsedMs: Date.now() - started };
  } catch (error) {
    await clusterDown(control);
    throw error;
  }
}

function created(name: string, options: ClusterUpOptions): ClusterSpec {
  const settings = {
    partitions: options.partitions ?? SPEC_DEFAULTS.partitions,
    replication:
      options.replication ?? Math.min(SPEC_DEFAULTS.replication, options.nodes ?? SPEC_DEFAULTS.nodes),
    vnodes: options.vnodes ?? SPEC_DEFAULTS.vnodes,
    fsync: options.fsync ?? true,
    tickMs: options.tickMs ?? SPEC_DEFAULTS.tickMs,
  };
  const nodes = options.nodes ?? SPEC_DEFAULTS.nodes;
  const basePort = options.basePort ?? SPEC_DEFAULTS.basePort;
  validateUpOptions({ nodes, basePort, ...settings });
  return newSpec(name, { nodes, basePort, settings });
}

/** The existing spec, with fsync and tick changed if asked; other differences are refused. */
function reopened(spec: ClusterSpec, options: ClusterUpOptions): ClusterSpec {
  const fixed: [string, number | undefined, number][] = [
    ["--nodes", options.nodes, spec.members.length],
    ["--base-port", options.basePort, (spec.members[0]?.port ?? 1) - 1],
    ["--partitions", options.partitions, spec.settings.partitions],
    ["--replication", options.replication, spec.settings.replication],
    ["--vnodes", options.vnodes, spec.settings.vnodes],
  ];
  for (const [flag, asked, actual] of fixed) {
    if (asked !== undefined && asked !== actual) {
      throw new ClusterError(
        `cluster '${spec.name}' exists with ${flag} ${actual}; it cannot change (use \`tinyo cluster down --purge\` to start over)`,
      );
    }
  }
  const settings = {
    ...spec.settings,
    fsync: options.fsync ?? spec.settings.fsync,
    tickMs: options.tickMs ?? spec.settings.tickMs,
  };
  validateUpOptions({ nodes: spec.members.length, basePort: 0, ...settings });
  return { ...spec, settings };
}

async function startSupervisor(home: string, paths: ClusterPaths, entry: CliEntry): Promise<void> {
  rmSync(paths.supervisor, { force: true });
  rmSync(paths.state, { force: true });
  const log = logFile(paths.supervisorLog);
  const supervisor = execa(
    entry.execPath,
    [...entry.execArgv, entry.script, "cluster", "supervise", "--home", home, "--cluster", paths.name],
    {
      detached: true,
      stdin: "ignore",
      stdout: log.stream,
      stderr: log.stream,
      reject: false,
      cleanup: false,
    },
  );
  log.close();
  supervisor.unref();
  let exited = false;
  void supervisor.then(() => {
    exited = true;
  });
  const deadline = Date.now() + SUPERVISOR_START_MS;
  for (;;) {
    const info = readSupervisorInfo(paths);
    if (info && info.pid === supervisor.pid && pidAlive(info.pid)) return;
    if (exited || Date.now() > deadline) {
      if (!exited && supervisor.pid !== undefined) supervisor.kill("SIGKILL");
      throw new ClusterError(`the supervisor did not start: ${lastLine(paths.supervisorLog)}`);
    }
    await sleep(50);
  }
}

/** Waits for a leader in every partition; fails early when a node exits during startup. */
async function waitReady(
  control: ClusterControl,
  timeoutMs: number,
): Promise<{ status: ClusterStatus; leadersHeld: Map<number, number> }> {
  const deadline = Date.now() + timeoutMs;
  const nodes = control.nodeIds.map((id) => ({ id, address: control.address(id) }));
  for (;;) {
    const status = control.status();
    if (!status.supervisor.alive) {
      throw new ClusterError(`the supervisor exited: ${lastLine(control.paths.supervisorLog)}`);
    }
    // The supervisor is new: any exit it recorded happened during this startup.
    const crashed = status.nodes.find((n) => n.lastExit !== null);
    if (crashed) {
      throw new ClusterError(
        `node ${crashed.id} exited while starting: ${lastLine(control.paths.nodeLog(crashed.id))} (log: ${control.paths.nodeLog(crashed.id)})`,
      );
    }
    const running = nodes.filter((n) => status.nodes.find((s) => s.id === n.id)?.state === "running");
    const statuses = await nodeStatuses(running);
    if (agreedLeaders(statuses, control.spec.settings.partitions)) {
      return { status: control.status(), leadersHeld: leadersHeld(statuses) };
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        `not every partition had a leader after ${Math.round(timeoutMs / 1000)} s; see the node logs in ${control.paths.dir}/nodes`,
      );
    }
    await sleep(200);
  }
}

/** The last line of a log, the message of a JSON log line when it is one. */
function lastLine(path: string): string {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return "(no log)";
  }
  const line = text.trimEnd().split("\n").at(-1) ?? "";
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown }; error?: unknown };
    return String(parsed.err?.message ?? parsed.error ?? parsed.msg ?? line);
  } catch {
    return line || "(empty log)";
  }
}
