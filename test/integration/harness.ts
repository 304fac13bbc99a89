/**
 * Real node processes for integration tests: `node --import tsx bin/dev.js node ...`, which runs
 * the real `tinyo node` command from the TypeScript sources (no build needed), on free loopback
 * ports, with temporary data directories and a short Raft tick. Every process is tracked and
 * SIGKILLed by `killAll` (call it in afterAll); `waitFor` polls with a deadline, never a fixed sleep.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { freePorts } from "../../src/cluster/ports.js";
import { Admin, type NodeStatus } from "../../src/gen/tinyo/v1/admin_pb.js";
import { KV } from "../../src/gen/tinyo/v1/kv_pb.js";
import { Raft } from "../../src/gen/tinyo/v1/raft_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { balancedLeaders, buildPlacement, PLACEMENT_DEFAULTS } from "../../src/node/ring/index.js";
import { sendClusterToken } from "../../src/node/service/admin-auth.js";

export { freePorts };

export const REPO = resolve(import.meta.dirname, "../..");
const CLI = join(REPO, "bin", "dev.js");

/** Every process spawned by a cluster here; SIGKILLed if the test process exits without killAll. */
const everySpawned = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of everySpawned)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs the CLI to completion (for commands that must fail fast): exit code and output. */
export function runCli(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TINYO_TOKEN: undefined },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`tinyo ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

export interface TestNode {
  readonly id: number;
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** host:port of its Prometheus endpoint, when the cluster was created with `metrics: true`. */
  readonly metricsAddress: string | undefined;
  process: ChildProcess | undefined;
  exit: Promise<number | null> | undefined;
}

/** A cluster of real node processes on this machine. */
export class TestCluster {
  readonly nodes: TestNode[];
  readonly root: string;
  private readonly sessions = new Map<string, Http2SessionManager>();
  private readonly spawned = new Set<ChildProcess>();

  private constructor(
    ports: number[],
    metricsPorts: number[],
    readonly options: {
      partitions: number;
      tickMs: number;
      token: string;
      compactEvery?: number;
      /** Node.js options before the script (e.g. --cpu-prof for a profile). */
      nodeOptions?: readonly string[];
    },
  ) {
    this.root = mkdtempSync(join(tmpdir(), "tinyo-it-"));
    this.nodes = ports.map((port, i) => ({
      id: i + 1,
      address: `127.0.0.1:${port}`,
      dataDir: join(this.root, `node-${i + 1}`),
      logFile: join(this.root, `node-${i + 1}.log`),
      metricsAddress: metricsPorts[i] === undefined ? undefined : `127.0.0.1:${metricsPorts[i]}`,
      process: undefined,
      exit: undefined,
    }));
  }

  static async create(
    size: number,
    options: Partial<{
      partitions: number;
      tickMs: number;
      token: string;
      compactEvery: number;
      nodeOptions: readonly string[];
      /** Every node also serves Prometheus metrics (--metrics-listen) on a port of its own. */
      metrics: boolean;
    }> = {},
  ): Promise<TestCluster> {
    const ports = await freePorts(options.metrics ? 2 * size : size);
    return new TestCluster(ports.slice(0, size), ports.slice(size), {
      partitions: options.partitions ?? 16,
      tickMs: options.tickMs ?? 20,
      token: options.token ?? "integration-test-token",
      compactEvery: options.compactEvery,
      nodeOptions: options.nodeOptions,
    });
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: number): TestNode {
    const node = this.nodes[id - 1];
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Spawns node `id` (with its data directory as it is). */
  start(id: number): void {
    const node = this.node(id);
    if (node.process && node.process.exitCode === null && node.process.signalCode === null) {
      throw new Error(`node ${id} is already running`);
    }
    const peers = this.nodes.map((n) => `${n.id}=${n.address}`).join(",");
    const log = openSync(node.logFile, "a");
    const child = spawn(
      process.execPath,
      [
        ...(this.options.nodeOptions ?? []),
        "--import",
        "tsx",
        CLI,
        "node",
        "--id",
        String(id),
        "--peers",
        peers,
        "--data",
        node.dataDir,
        "--partitions",
        String(this.options.partitions),
        "--tick-ms",
        String(this.options.tickMs),
        "--token",
        this.options.token,
        ...(this.options.compactEvery === undefined
          ? []
          : ["--compact-every", String(this.options.compactEvery)]),
        ...(node.metricsAddress === undefined ? [] : ["--metrics-listen", node.metricsAddress]),
      ],
      { cwd: REPO, stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.spawned.add(child);
    everySpawned.add(child);
    child.once("exit", () => everySpawned.delete(child));
    node.process = child;
    node.exit = new Promise((done) => child.on("exit", (code) => done(code)));
  }

  startAll(): void {
    for (const node of this.nodes) this.start(node.id);
  }

  /** Sends `signal` and waits for the process to exit; returns its exit code. */
  async stop(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    const node = this.node(id);
    if (!node.process || !node.exit) return null;
    node.process.kill(signal);
    const code = await node.exit;
    node.process = undefined;
    node.exit = undefined;
    return code;
  }

  running(id: number): boolean {
    const child = this.node(id).process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  kv(id: number): Client<typeof KV> {
    return createClient(KV, this.transport(this.node(id).address));
  }

  /** An Admin client whose calls carry the cluster token. */
  admin(id: number): Client<typeof Admin> {
    return this.adminWithToken(id, this.options.token);
  }

  /** An Admin client whose calls carry `token`, or no token at all. */
  adminWithToken(id: number, token: string | undefined): Client<typeof Admin> {
    return createClient(Admin, this.transport(this.node(id).address, token));
  }

  raft(id: number): Client<typeof Raft> {
    return createClient(Raft, this.transport(this.node(id).address));
  }

  async status(id: number): Promise<NodeStatus> {
    const response = await this.admin(id).status({}, { timeoutMs: 2000 });
    if (!response.status) throw new Error(`node ${id} sent no status`);
    return response.status;
  }

  /**
   * Waits until every running node answers Status and, for every partition, all its running
   * replicas agree on one leader that is running and sees itself as leader.
   */
  async waitForLeaders(timeoutMs = 20_000): Promise<Map<number, number>> {
    return waitFor(
      "a leader for every partition",
      async () => {
        const running = this.nodes.filter((n) => this.running(n.id));
        const statuses = await Promise.all(running.map((n) => this.status(n.id)));
        const leaders = new Map<number, number>();
        for (let p = 0; p < this.options.partitions; p++) {
          const views = statuses.flatMap((s) =>
            s.groups.filter((g) => g.partition === p).map((g) => ({ node: s.node, leader: g.leader })),
          );
          const leader = views[0]?.leader ?? 0;
          if (leader === 0 || views.some((v) => v.leader !== leader)) return undefined;
          if (!running.some((n) => n.id === leader)) return undefined;
          leaders.set(p, leader);
        }
        return leaders;
      },
      timeoutMs,
    );
  }

  /**
   * Waits until every partition is led by its balanced leader (src/node/ring/leader-balance.ts),
   * after which leadership stays put while every node runs: for tests whose premise is who leads.
   */
  async waitForBalancedLeaders(timeoutMs = 30_000): Promise<Map<number, number>> {
    const placement = buildPlacement({
      members: this.nodes.map((n) => nodeId(n.id)),
      partitions: this.options.partitions,
      vnodes: PLACEMENT_DEFAULTS.vnodes,
      replication: PLACEMENT_DEFAULTS.replication,
    });
    const balanced = balancedLeaders(placement);
    return waitFor(
      "every partition led by its balanced leader",
      async () => {
        const leaders = await this.waitForLeaders(timeoutMs);
        return balanced.every((leader, p) => leaders.get(p) === leader) ? leaders : undefined;
      },
      timeoutMs,
      100,
    );
  }

  log(id: number): string {
    try {
      return readFileSync(this.node(id).logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** Sends `signal` to every running node, then SIGKILLs those still running after `graceMs`. */
  async stopAll(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const running = this.nodes.filter((n) => this.running(n.id));
    const timer = setTimeout(() => this.killAll(), graceMs);
    await Promise.all(running.map((n) => this.stop(n.id, signal)));
    clearTimeout(timer);
    await this.killAll();
  }

  /** Closes the client sessions and SIGKILLs every process this cluster spawned. */
  async killAll(): Promise<void> {
    for (const sessions of this.sessions.values()) sessions.abort();
    this.sessions.clear();
    const exits: Promise<unknown>[] = [];
    for (const child of this.spawned) {
      if (child.exitCode === null && child.signalCode === null) {
        exits.push(new Promise((done) => child.once("exit", done)));
        child.kill("SIGKILL");
      }
    }
    await Promise.all(exits);
    for (const node of this.nodes) {
      node.process = undefined;
      node.exit = undefined;
    }
  }

  /** Pids of spawned processes that are still alive (should be none after killAll). */
  alivePids(): number[] {
    return [...this.spawned].flatMap((child) => {
      if (child.pid === undefined) return [];
      try {
        process.kill(child.pid, 0);
        return [child.pid];
      } catch {
        return [];
      }
    });
  }

  removeData(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private transport(address: string, token?: string) {
    let sessions = this.sessions.get(address);
    if (!sessions) {
      sessions = new Http2SessionManager(`http://${address}`);
      this.sessions.set(address, sessions);
    }
    return createConnectTransport({
      baseUrl: `http://${address}`,
      httpVersion: "2",
      sessionManager: sessions,
      interceptors: token === undefined ? [] : [sendClusterToken(token)],
    });
  }
}
