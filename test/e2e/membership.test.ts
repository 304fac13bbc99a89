/**
 * Dynamic membership end to end, through the built `bin/run.js`: a 5-node cluster under a steady
 * write load gets a 6th node (`cluster add`), then loses node 3 (`cluster remove 3`). After each
 * change every acknowledged write reads back, every partition is at its placement, and the new
 * node holds and leads its share. The error window of each change (the span between the first
 * and the last write that failed after the client's retries) is printed, not asserted: it is a
 * measurement (README, docs/membership.md).
 */

import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { ClusterControl, nodeStatuses } from "../../src/cluster/index.js";
import { moveProgress } from "../../src/cluster/membership.js";
import { pidAlive } from "../../src/cluster/processes.js";
import { type NodeStatus, Role } from "../../src/gen/tinyo/v1/admin_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { balancedLeaders, buildPlacement } from "../../src/node/ring/index.js";
import { waitFor } from "../integration/harness.js";
import { buildCli, CliSession, freeBasePort } from "./cli-harness.js";

const PARTITIONS = 16;
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

/** Writers putting unique keys until stopped; acknowledged keys and failure times are recorded. */
class WriteLoad {
  readonly acknowledged = new Map<string, string>();
  readonly failures: number[] = [];
  private stopped = false;
  private readonly writers: Promise<void>[];
  private readonly client: TinyoClient;

  constructor(endpoints: string[], tag: string, writers = 6) {
    this.client = new TinyoClient({ endpoints, partitions: PARTITIONS, deadlineMs: 5000 });
    this.writers = Array.from({ length: writers }, (_, w) => this.run(`${tag}:${w}`));
  }

  private async run(prefix: string): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `${prefix}:${i}`;
      try {
        await this.client.put(key, `v${i}`);
        this.acknowledged.set(key, `v${i}`);
      } catch {
        this.failures.push(Date.now());
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.writers);
    this.client.close();
  }

  /** Milliseconds between the first and the last failed write; 0 without failures. */
  errorWindowMs(): number {
    if (this.failures.length === 0) return 0;
    return (this.failures[this.failures.length - 1] as number) - (this.failures[0] as number);
  }
}

describe("cluster add and remove under load", () => {
  const cli = new CliSession();
  const control = () => ClusterControl.open({ home: cli.home });
  const endpoints = () => control().spec.members.map((m) => `${m.host}:${m.port}`);
  const statuses = () =>
    nodeStatuses(control().spec.members.map((m) => ({ id: m.id, address: `${m.host}:${m.port}` })));
  const pids = new Set<number>();

  beforeAll(async () => {
    await buildCli();
    const base = await freeBasePort(8);
    await cli.ok(
      ["cluster", "up", "--nodes", "5", "--partitions", String(PARTITIONS), "--base-port", String(base)],
      { timeoutMs: 150_000 },
    );
  }, 240_000);

  afterAll(async () => {
    for (const node of control().status().nodes) if (node.pid !== null) pids.add(node.pid);
    await cli.run(["cluster", "down", "--purge"]).catch(() => undefined);
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    rmSync(cli.home, { recursive: true, force: true });
  }, 60_000);

  /** Every partition led, at its placement, no learner, no move in flight. */
  const settled = async (): Promise<Map<number, NodeStatus | undefined> | undefined> => {
    const all = await statuses();
    const moves = moveProgress(all, control().spec.settings);
    return moves.unsettled === 0 && moves.inFlight === 0 ? all : undefined;
  };

  /** Reads every acknowledged key back through a fresh client. */
  const readBack = async (load: WriteLoad) => {
    const reader = new TinyoClient({ endpoints: endpoints(), partitions: PARTITIONS, deadlineMs: 8000 });
    try {
      const keys = [...load.acknowledged.keys()];
      for (let i = 0; i < keys.length; i += 100) {
        const batch = keys.slice(i, i + 100);
        const values = await Promise.all(batch.map((k) => reader.get(k)));
        batch.forEach((k, j) => {
          expect(str(values[j]), k).toBe(load.acknowledged.get(k));
        });
      }
    } finally {
      reader.close();
    }
  };

  it("refuses bad input with a one-line error and a non-zero exit", async () => {
    const unknown = await cli.run(["cluster", "remove", "99"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toMatch(/^Error: there is no node 99 in this cluster/);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    const badCount = await cli.run(["cluster", "add", "--count", "0"]);
    expect(badCount.code).not.toBe(0);
    expect(badCount.stderr.trim()).toMatch(/--count 0 is out of range/);
  });

  it("adds a 6th node under load: no acknowledged write lost, node 6 holds and leads its share", async () => {
    const load = new WriteLoad(endpoints(), "add");
    await waitFor("writes before the add", () => load.acknowledged.size >= 200, 30_000);
    const failuresBefore = load.failures.length;
    const startedAt = Date.now();
    const out = await cli.ok(["cluster", "add"], { timeoutMs: 120_000 });
    expect(out).toMatch(/node 6 joined at 127\.0\.0\.1:\d+/);
    const all = await waitFor("every partition at its 6-node placement", settled, 180_000, 500);
    const settledMs = Date.now() - startedAt;
    await new Promise((r) => setTimeout(r, 2000));
    await load.stop();
    expect(failuresBefore).toBe(0);
    await readBack(load);

    const placement = buildPlacement({
      members: [1, 2, 3, 4, 5, 6].map(nodeId),
      partitions: PARTITIONS,
      vnodes: 64,
      replication: 3,
    });
    const six = all.get(6);
    expect(six?.groups.map((g) => g.partition).sort((a, b) => a - b)).toEqual([
      ...placement.partitionsOf(nodeId(6)),
    ]);
    // Leader balancing hands node 6 its share of leaderships, one per round.
    const share = balancedLeaders(placement).filter((n) => n === 6).length;
    await waitFor(
      "node 6 to lead its balanced share",
      async () => {
        const status = (await statuses()).get(6);
        return (status?.groups.filter((g) => g.role === Role.LEADER).length ?? 0) >= share || undefined;
      },
      120_000,
      500,
    );
    console.log(
      `cluster add under load: ${load.acknowledged.size} writes acknowledged, ${load.failures.length} failed, ` +
        `error window ${load.errorWindowMs()} ms, placement reached ${settledMs} ms after the add began; ` +
        `node 6 holds ${six?.groups.length} of ${PARTITIONS * 3} replicas and leads ${share} of ${PARTITIONS}`,
    );
  }, 420_000);

  it("removes node 3 under load: its process is gone, its replicas live elsewhere, nothing lost", async () => {
    const three = control()
      .status()
      .nodes.find((n) => n.id === 3);
    expect(three?.pid).not.toBeNull();
    const load = new WriteLoad(endpoints(), "remove");
    await waitFor("writes before the remove", () => load.acknowledged.size >= 200, 30_000);
    const startedAt = Date.now();
    const out = await cli.ok(["cluster", "remove", "3"], { timeoutMs: 200_000 });
    expect(out).toMatch(/node 3 removed/);
    const removedMs = Date.now() - startedAt;
    await waitFor("every partition at its placement without node 3", settled, 120_000, 500);
    await new Promise((r) => setTimeout(r, 2000));
    await load.stop();
    await readBack(load);

    expect(pidAlive(three?.pid as number)).toBe(false);
    expect(control().nodeIds).toEqual([1, 2, 4, 5, 6]);
    const all = await statuses();
    for (const status of all.values()) {
      for (const g of status?.groups ?? []) {
        expect(g.replicas, `partition ${g.partition} on node ${status?.node}`).not.toContain(3);
      }
    }
    console.log(
      `cluster remove under load: ${load.acknowledged.size} writes acknowledged, ${load.failures.length} failed, ` +
        `error window ${load.errorWindowMs()} ms, node 3 stopped ${removedMs} ms after the remove began`,
    );
  }, 420_000);
});
