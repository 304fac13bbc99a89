/**
 * The cluster a chaos run starts for itself: N `tinyo node` processes on free loopback ports,
 * data and logs in a fresh directory, spawned through the same CLI entry point that runs this
 * process (bin/run.js, or bin/dev.js through tsx). Every process is SIGKILLed by `close`, and
 * also if this process exits without it or is interrupted (SIGINT, SIGTERM: exit 130, 143).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../cluster/ports.js";
import type { ChaosCluster } from "./chaos-cluster.js";

export interface LocalClusterOptions {
  readonly nodes: number;
  readonly partitions: number;
  readonly tickMs: number;
  /** How to run the CLI: node's flags and the entry script. */
  readonly execArgv: readonly string[];
  readonly entry: string;
}

interface LocalNode {
  readonly id: number;
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

const everySpawned = new Set<ChildProcess>();
let guarded = false;

/**
 * No node may outlive the run: on exit, and on SIGINT or SIGTERM (Ctrl-C, a test runner), every
 * node still running is SIGKILLed. Installed when the first cluster starts, never at import:
 * oclif may load this module in any CLI process (say `tinyo node`, whose own SIGTERM handling
 * must stay its own).
 */
function guardProcess(): void {
  if (guarded) return;
  guarded = true;
  const killEverySpawned = () => {
    for (const child of everySpawned)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killEverySpawned);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      killEverySpawned();
      process.exit(code);
    });
  }
}

export class LocalCluster implements ChaosCluster {
  private readonly nodes: LocalNode[];
  readonly token = `chaos-${process.pid}-${Date.now()}`;

  private constructor(
    readonly dir: string,
    ports: readonly number[],
    private readonly options: LocalClusterOptions,
  ) {
    this.nodes = ports.map((port, i) => ({
      id: i + 1,
      address: `127.0.0.1:${port}`,
      dataDir: join(dir, `node-${i + 1}`),
      logFile: join(dir, `node-${i + 1}.log`),
      process: undefined,
      exited: undefined,
    }));
  }

  /** Makes the run directory and starts every node (not waiting for leaders). */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    guardProcess();
    const dir = mkdtempSync(join(tmpdir(), "tinyo-chaos-"));
    const cluster = new LocalCluster(dir, await freePorts(options.nodes), options);
    for (const node of cluster.nodes) cluster.spawn(node);
    return cluster;
  }

  get nodeIds(): number[] {
    return this.nodes.map((n) => n.id);
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** Every node process this cluster started, restarts included. */
  readonly pids: number[] = [];

  address(id: number): string {
    return this.node(id).address;
  }

  async kill(id: number): Promise<void> {
    const node = this.node(id);
    if (!node.process || !this.running(node)) return;
    node.process.kill("SIGKILL");
    await node.exited;
  }

  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (this.running(node)) return;
    this.spawn(node);
  }

  async pause(id: number): Promise<void> {
    const node = this.node(id);
    if (this.running(node)) node.process?.kill("SIGSTOP");
  }

  async resume(id: number): Promise<void> {
    const node = this.node(id);
    if (this.running(node)) node.process?.kill("SIGCONT");
  }

  /** SIGKILLs every node and waits for them to exit. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
  }

  private running(node: LocalNode): boolean {
    const child = node.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  private node(id: number): LocalNode {
    const node = this.nodes[id - 1];
    if (!node) throw new RangeError(`no node ${id}: the nodes are 1 to ${this.nodes.length}`);
    return node;
  }

  private spawn(node: LocalNode): void {
    const { options } = this;
    const peers = this.nodes.map((n) => `${n.id}=${n.address}`).join(",");
    const log = openSync(node.logFile, "a");
    const args = [
      ...options.execArgv,
      options.entry,
      "node",
      ...["--id", String(node.id), "--peers", peers, "--data", node.dataDir],
      ...[
        "--partitions",
        String(options.partitions),
        "--tick-ms",
        String(options.tickMs),
        "--token",
        this.token,
      ],
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", log, log] });
    closeSync(log);
    if (child.pid !== undefined) this.pids.push(child.pid);
    everySpawned.add(child);
    node.process = child;
    node.exited = new Promise((done) =>
      child.once("exit", () => {
        everySpawned.delete(child);
        done();
      }),
    );
  }
}
