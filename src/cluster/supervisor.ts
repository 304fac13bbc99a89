/**
 * The supervisor: one detached process per cluster that owns the node processes. It spawns every
 * node, records pids and states in state.json on every change, restarts a node that exits on its
 * own (with capped exponential backoff, logged), leaves a node stopped by `tinyo kill` down until
 * `restart`, pauses and resumes with SIGSTOP/SIGCONT, and on shutdown stops every node (SIGTERM,
 * then SIGKILL after the grace period) before it exits.
 */

import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { type CliEntry, type NodeProcess, spawnNode } from "./node-process.js";
import type { ClusterPaths } from "./paths.js";
import { type ClusterSpec, LOOPBACK, writeSpec } from "./spec.js";
import type { NodeExit, NodeRecord, NodeState, SupervisorState } from "./state.js";
import { writeSupervisorState } from "./state.js";
import type { ControlRequest, StopSignal } from "./supervisor-protocol.js";

export const RESTART_BACKOFF = {
  firstMs: 500,
  maxMs: 10_000,
  /** A node that ran this long before it exited starts again from the first delay. */
  healthyAfterMs: 30_000,
} as const;

/** How long a node has to exit after SIGTERM before it gets SIGKILL. */
export const STOP_GRACE_MS = 10_000;

/** An operation that cannot be done in the node's state; the message is for a person. */
export class ControlError extends Error {
  override name = "ControlError";
}

type Intent = "kill" | "restart" | "shutdown";

interface Slot {
  readonly id: number;
  child: NodeProcess | undefined;
  exited: Promise<void> | undefined;
  state: NodeState;
  intent: Intent | undefined;
  restarts: number;
  /** Consecutive exits on its own without running healthily in between: the backoff exponent. */
  failures: number;
  since: Date;
  startedAt: number;
  restartAt: Date | undefined;
  timer: NodeJS.Timeout | undefined;
  lastExit: NodeExit | null;
}

export type SupervisorLog = (event: string, fields?: Record<string, unknown>) => void;

export class Supervisor {
  private readonly slots: Map<number, Slot>;
  private closing = false;

  constructor(
    private spec: ClusterSpec,
    private readonly paths: ClusterPaths,
    private readonly entry: CliEntry,
    private readonly log: SupervisorLog,
  ) {
    this.slots = new Map(spec.members.map((m) => [m.id, newSlot(m.id)]));
  }

  startAll(): void {
    for (const slot of this.slots.values()) this.spawn(slot);
    this.persist();
  }

  state(): SupervisorState {
    return {
      supervisorPid: process.pid,
      updatedAt: new Date().toISOString(),
      nodes: [...this.slots.values()].map(record),
    };
  }

  async handle(request: ControlRequest): Promise<SupervisorState> {
    if (this.closing && request.op !== "state") throw new ControlError("the cluster is shutting down");
    switch (request.op) {
      case "state":
        break;
      case "kill":
        await this.kill(this.slot(request.node), request.signal);
        break;
      case "start":
        this.start(this.slot(request.node));
        break;
      case "restart":
        await this.restart(this.slot(request.node));
        break;
      case "pause":
        this.pause(this.slot(request.node));
        break;
      case "resume":
        this.resume(this.slot(request.node));
        break;
      case "add":
        this.add(request.node, request.port, request.metricsPort);
        break;
      case "remove":
        await this.remove(this.slot(request.node));
        break;
      case "shutdown":
        await this.shutdown();
        break;
    }
    this.persist();
    return this.state();
  }

  /** Stops every node (SIGTERM, then SIGKILL after the grace period); restarts nothing after. */
  async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.slots.values()].map((slot) => this.stop(slot, "SIGTERM", "shutdown")));
    for (const slot of this.slots.values()) this.setState(slot, "stopped");
    this.persist();
    this.log("supervisor.stopped_all");
  }

  private slot(id: number): Slot {
    const slot = this.slots.get(id);
    if (!slot) {
      throw new ControlError(
        `there is no node ${id} in this cluster (its nodes are ${[...this.slots.keys()].join(", ")})`,
      );
    }
    return slot;
  }

  /** Records a new member in cluster.json and starts it; it joins the running cluster. */
  private add(id: number, port: number, metricsPort: number | undefined): void {
    if (this.slots.has(id)) throw new ControlError(`node ${id} is already in this cluster`);
    const member = {
      id,
      host: LOOPBACK,
      port,
      ...(metricsPort !== undefined && { metricsPort }),
      joined: true,
    };
    this.spec = { ...this.spec, members: [...this.spec.members, member] };
    writeSpec(this.paths, this.spec);
    const slot = newSlot(id);
    this.slots.set(id, slot);
    this.spawn(slot);
  }

  /** Stops a member whose replicas moved away, deletes its data (not its log) and drops it from cluster.json. */
  private async remove(slot: Slot): Promise<void> {
    await this.stop(slot, "SIGTERM", "shutdown");
    this.slots.delete(slot.id);
    this.spec = { ...this.spec, members: this.spec.members.filter((m) => m.id !== slot.id) };
    writeSpec(this.paths, this.spec);
    rmSync(this.paths.dataDir(slot.id), { recursive: true, force: true });
    this.log("node.removed", { node: slot.id });
  }

  private async kill(slot: Slot, signal: StopSignal): Promise<void> {
    if (slot.state === "backoff") {
      clearTimeout(slot.timer);
      this.setState(slot, "killed");
      return;
    }
    if (slot.state !== "running" && slot.state !== "paused") {
      throw new ControlError(`node ${slot.id} is not running (${slot.state})`);
    }
    await this.stop(slot, signal, "kill");
  }

  private start(slot: Slot): void {
    if (slot.state === "running" || slot.state === "paused" || slot.state === "stopping") {
      throw new ControlError(`node ${slot.id} is already running (pid ${slot.child?.pid})`);
    }
    clearTimeout(slot.timer);
    this.spawn(slot);
  }

  private async restart(slot: Slot): Promise<void> {
    if (slot.state === "running" || slot.state === "paused") await this.stop(slot, "SIGTERM", "restart");
    else if (slot.state === "stopping") throw new ControlError(`node ${slot.id} is being stopped`);
    clearTimeout(slot.timer);
    slot.failures = 0;
    this.spawn(slot);
  }

  private pause(slot: Slot): void {
    if (slot.state !== "running" || !slot.child) {
      throw new ControlError(`node ${slot.id} is not running (${slot.state})`);
    }
    slot.child.kill("SIGSTOP");
    this.setState(slot, "paused");
    this.log("node.paused", { node: slot.id, pid: slot.child.pid });
  }

  private resume(slot: Slot): void {
    if (slot.state !== "paused" || !slot.child) {
      throw new ControlError(`node ${slot.id} is not paused (${slot.state})`);
    }
    slot.child.kill("SIGCONT");
    this.setState(slot, "running");
    this.log("node.resumed", { node: slot.id, pid: slot.child.pid });
  }

  /** Signals the node and waits for its exit; SIGKILL once the grace period has passed. */
  private async stop(slot: Slot, signal: StopSignal, intent: Intent): Promise<void> {
    clearTimeout(slot.timer);
    const { child, exited } = slot;
    if (!child || !exited) return;
    slot.intent = intent;
    this.setState(slot, "stopping");
    this.persist();
    this.log("node.stopping", { node: slot.id, pid: child.pid, signal, intent });
    child.kill(signal);
    child.kill("SIGCONT"); // a paused node must run to act on SIGTERM
    const graceOver = sleep(STOP_GRACE_MS).then(() => "grace" as const);
    if ((await Promise.race([exited, graceOver])) === "grace") {
      this.log("node.force_kill", { node: slot.id, pid: child.pid, afterMs: STOP_GRACE_MS });
      child.kill("SIGKILL");
      await exited;
    }
  }

  private spawn(slot: Slot): void {
    const child = spawnNode(this.entry, this.spec, this.paths, slot.id);
    slot.child = child;
    slot.intent = undefined;
    slot.startedAt = Date.now();
    slot.restartAt = undefined;
    slot.exited = child.then((result) => {
      this.onExit(slot, child, { code: result.exitCode ?? null, signal: result.signal ?? null });
    });
    this.setState(slot, "running");
    this.log("node.started", { node: slot.id, pid: child.pid });
  }

  private onExit(slot: Slot, child: NodeProcess, exit: { code: number | null; signal: string | null }): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    slot.lastExit = { ...exit, at: new Date().toISOString() };
    const intent = slot.intent;
    slot.intent = undefined;
    this.log("node.exited", { node: slot.id, pid: child.pid, ...exit, intent: intent ?? "none" });
    if (intent === "kill") this.setState(slot, "killed");
    else if (intent === "shutdown" || intent === "restart" || this.closing) this.setState(slot, "stopped");
    else this.scheduleRestart(slot);
    this.persist();
  }

  /** The node exited on its own: start it again after a delay that doubles, up to a cap. */
  private scheduleRestart(slot: Slot): void {
    if (Date.now() - slot.startedAt >= RESTART_BACKOFF.healthyAfterMs) slot.failures = 0;
    const delayMs = Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.firstMs * 2 ** slot.failures);
    slot.failures++;
    slot.restartAt = new Date(Date.now() + delayMs);
    this.setState(slot, "backoff");
    this.log("node.restart_scheduled", { node: slot.id, delayMs, failures: slot.failures });
    slot.timer = setTimeout(() => {
      if (slot.state !== "backoff" || this.closing) return;
      slot.restarts++;
      this.spawn(slot);
      this.persist();
    }, delayMs);
  }

  private setState(slot: Slot, state: NodeState): void {
    slot.state = state;
    slot.since = new Date();
  }

  private persist(): void {
    writeSupervisorState(this.paths, this.state());
  }
}

function newSlot(id: number): Slot {
  return {
    id,
    child: undefined,
    exited: undefined,
    state: "stopped",
    intent: undefined,
    restarts: 0,
    failures: 0,
    since: new Date(),
    startedAt: 0,
    restartAt: undefined,
    timer: undefined,
    lastExit: null,
  };
}

function record(slot: Slot): NodeRecord {
  const alive = slot.state === "running" || slot.state === "paused" || slot.state === "stopping";
  return {
    id: slot.id,
    pid: alive ? (slot.child?.pid ?? null) : null,
    state: slot.state,
    restarts: slot.restarts,
    since: slot.since.toISOString(),
    restartAt: slot.state === "backoff" ? (slot.restartAt?.toISOString() ?? null) : null,
    lastExit: slot.lastExit,
  };
}
