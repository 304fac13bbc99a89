/**
 * The cluster-control API: what the CLI commands, the dashboard and the chaos nemesis call to
 * look at a local cluster's processes and to start, stop, kill, restart, pause and resume its
 * nodes. Status is read from the supervisor's files (so it works, and says so, when the
 * supervisor died); every action is a request to the supervisor, which owns the processes.
 */

import { ClusterError, ClusterNotRunningError, UnknownNodeError } from "./errors.js";
import { type ClusterPaths, clusterPaths, DEFAULT_CLUSTER, tinyoHome } from "./paths.js";
import { pidAlive } from "./processes.js";
import { addressOf, type ClusterSettings, type ClusterSpec, readSpec } from "./spec.js";
import { type NodeExit, type NodeState, readSupervisorInfo, readSupervisorState } from "./state.js";
import { STOP_GRACE_MS } from "./supervisor.js";
import {
  CONTROL_PATH,
  type ControlRequest,
  type ControlResponse,
  type StopSignal,
  TOKEN_HEADER,
} from "./supervisor-protocol.js";

export type { StopSignal } from "./supervisor-protocol.js";

/** Which cluster: `home` defaults to $TINYO_HOME or ~/.tinyo, `cluster` to "default". */
export interface ClusterRef {
  readonly home?: string;
  readonly cluster?: string;
}

/**
 * A node as the supervisor last recorded it. When the supervisor is gone, `state` is "orphaned"
 * for a node process still alive (nobody restarts it) and "down" for one that is not.
 */
export interface NodeProcessStatus {
  readonly id: number;
  readonly address: string;
  readonly pid: number | null;
  readonly state: NodeState | "orphaned" | "down";
  readonly restarts: number;
  readonly since: string | null;
  readonly restartAt: string | null;
  readonly lastExit: NodeExit | null;
}

export interface ClusterStatus {
  readonly name: string;
  readonly dir: string;
  readonly settings: ClusterSettings;
  readonly supervisor: { readonly pid: number | null; readonly alive: boolean };
  readonly nodes: readonly NodeProcessStatus[];
}

export class ClusterControl {
  private constructor(
    readonly paths: ClusterPaths,
    private currentSpec: ClusterSpec,
  ) {}

  /** cluster.json as last read (re-read after `add` and `remove`, which change it). */
  get spec(): ClusterSpec {
    return this.currentSpec;
  }

  /** The cluster's control; ClusterNotRunningError when it was never created. */
  static open(ref: ClusterRef = {}): ClusterControl {
    const paths = clusterPaths(tinyoHome(ref.home), ref.cluster ?? DEFAULT_CLUSTER);
    const spec = readSpec(paths);
    if (!spec) throw new ClusterNotRunningError(paths.name);
    return new ClusterControl(paths, spec);
  }

  get name(): string {
    return this.paths.name;
  }

  get nodeIds(): number[] {
    return this.spec.members.map((m) => m.id);
  }

  /** host:port of every node. */
  get endpoints(): string[] {
    return this.spec.members.map(addressOf);
  }

  address(id: number): string {
    const member = this.spec.members.find((m) => m.id === id);
    if (!member) throw new UnknownNodeError(id, this.nodeIds);
    return addressOf(member);
  }

  /** Whether the supervisor or any node process of the cluster is alive. */
  isRunning(): boolean {
    const status = this.status();
    return status.supervisor.alive || status.nodes.some((n) => n.pid !== null);
  }

  status(): ClusterStatus {
    const info = readSupervisorInfo(this.paths);
    const supervisorAlive = info !== undefined && pidAlive(info.pid);
    const state = readSupervisorState(this.paths);
    const nodes = this.spec.members.map((member): NodeProcessStatus => {
      const recorded = state?.nodes.find((n) => n.id === member.id);
      const pid = recorded?.pid ?? null;
      const alive = pid !== null && pidAlive(pid);
      let nodeState: NodeProcessStatus["state"] = recorded?.state ?? "down";
      if (!supervisorAlive) nodeState = alive ? "orphaned" : "down";
      return {
        id: member.id,
        address: addressOf(member),
        pid: alive ? pid : null,
        state: nodeState,
        restarts: recorded?.restarts ?? 0,
        since: recorded?.since ?? null,
        restartAt: supervisorAlive ? (recorded?.restartAt ?? null) : null,
        lastExit: recorded?.lastExit ?? null,
      };
    });
    return {
      name: this.name,
      dir: this.paths.dir,
      settings: this.spec.settings,
      supervisor: { pid: supervisorAlive ? (info?.pid ?? null) : null, alive: supervisorAlive },
      nodes,
    };
  }

  /** Stops the node with SIGKILL (or SIGTERM); the supervisor leaves it down until restart/start. */
  kill(id: number, signal: StopSignal = "SIGKILL"): Promise<NodeProcessStatus> {
    return this.nodeRequest({ op: "kill", node: this.checked(id), signal });
  }

  /** A graceful stop: kill with SIGTERM. */
  stop(id: number): Promise<NodeProcessStatus> {
    return this.kill(id, "SIGTERM");
  }

  /** Starts a node that is down; an error when it runs. */
  start(id: number): Promise<NodeProcessStatus> {
    return this.nodeRequest({ op: "start", node: this.checked(id) });
  }

  /** Stops the node if it runs (SIGTERM), then starts it. */
  restart(id: number): Promise<NodeProcessStatus> {
    return this.nodeRequest({ op: "restart", node: this.checked(id) });
  }

  /** SIGSTOP: the process stays, frozen; peers see it as unreachable. */
  pause(id: number): Promise<NodeProcessStatus> {
    return this.nodeRequest({ op: "pause", node: this.checked(id) });
  }

  /** SIGCONT after a pause. */
  resume(id: number): Promise<NodeProcessStatus> {
    return this.nodeRequest({ op: "resume", node: this.checked(id) });
  }

  /** Records node `id` in cluster.json and starts it with --join (see membership.ts). */
  async add(id: number, port: number, metricsPort?: number): Promise<NodeProcessStatus> {
    await this.request({ op: "add", node: id, port, ...(metricsPort !== undefined && { metricsPort }) });
    this.reload();
    const node = this.status().nodes.find((n) => n.id === id);
    if (!node) throw new UnknownNodeError(id, this.nodeIds);
    return node;
  }

  /** Stops node `id`, deletes its data and drops it from cluster.json (its replicas must have moved). */
  async remove(id: number): Promise<void> {
    await this.request({ op: "remove", node: this.checked(id) });
    this.reload();
  }

  private reload(): void {
    this.currentSpec = readSpec(this.paths) ?? this.currentSpec;
  }

  /** Asks the supervisor to stop every node and exit; resolves once it answered. */
  async shutdown(): Promise<void> {
    await this.request({ op: "shutdown" });
  }

  private checked(id: number): number {
    if (!this.nodeIds.includes(id)) throw new UnknownNodeError(id, this.nodeIds);
    return id;
  }

  private async nodeRequest(request: ControlRequest & { node: number }): Promise<NodeProcessStatus> {
    await this.request(request);
    const node = this.status().nodes.find((n) => n.id === request.node);
    if (!node) throw new UnknownNodeError(request.node, this.nodeIds);
    return node;
  }

  private async request(request: ControlRequest): Promise<void> {
    const info = readSupervisorInfo(this.paths);
    if (!info || !pidAlive(info.pid)) {
      if (this.isRunning()) {
        throw new ClusterError(
          `the supervisor of cluster '${this.name}' is not running (its nodes are orphaned); run \`tinyo cluster up\` to recover`,
        );
      }
      throw new ClusterNotRunningError(this.name);
    }
    let answer: ControlResponse;
    try {
      const response = await fetch(`http://127.0.0.1:${info.port}${CONTROL_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", [TOKEN_HEADER]: this.spec.token },
        body: JSON.stringify(request),
        // A stop waits for the node's exit: up to the grace period, then SIGKILL.
        signal: AbortSignal.timeout(STOP_GRACE_MS * 2),
      });
      answer = (await response.json()) as ControlResponse;
    } catch (error) {
      throw new ClusterError(
        `the supervisor of cluster '${this.name}' (pid ${info.pid}) did not answer: ${(error as Error).message}`,
      );
    }
    if (!answer.ok) throw new ClusterError(answer.error);
  }
}
