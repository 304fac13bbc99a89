/**
 * `tinyo bench` end to end: the real CLI against a real 3-node cluster, a small bounded load.
 * No speed is asserted; the report must be complete and consistent.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, TestCluster } from "./harness.js";

describe("tinyo bench", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.create(3, { partitions: 8 });
    cluster.startAll();
    await cluster.waitForLeaders(60_000);
  }, 90_000);

  afterAll(async () => {
    await cluster.killAll();
    expect(cluster.alivePids()).toEqual([]);
    cluster.removeData();
  });

  it("prints a JSON report whose counts add up", async () => {
    const { code, stdout, stderr } = await runCli(
      [
        "bench",
        "--endpoints",
        cluster.endpoints.join(","),
        "--clients",
        "8",
        "--ops",
        "300",
        "--keys",
        "50",
        "--json",
      ],
      120_000,
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.settings).toMatchObject({ clients: 8, ops: 300, mix: "put=50,get=50", calls: "stream" });
    const ops = report.operations as {
      operation: string;
      count: number;
      errors: number;
      p50Ms: number;
      p99Ms: number;
      maxMs: number;
    }[];
    expect(ops.map((o) => o.operation)).toEqual(["put", "get"]);
    expect(ops.reduce((sum, o) => sum + o.count + o.errors, 0)).toBe(300);
    for (const op of ops) {
      expect(op.p50Ms).toBeGreaterThan(0);
      expect(op.p50Ms).toBeLessThanOrEqual(op.p99Ms);
      expect(op.p99Ms).toBeLessThanOrEqual(op.maxMs);
    }
    expect(report.throughput).toBeGreaterThan(0);
    expect(report.generatorCpuPercent).toBeGreaterThan(0);
  }, 150_000);

  it("prints a table with unary calls, an open loop and stale reads", async () => {
    const { code, stdout } = await runCli(
      [
        "bench",
        "--endpoints",
        cluster.endpoints.join(","),
        "--calls",
        "unary",
        "--rate",
        "100",
        "--duration",
        "2s",
        "--mix",
        "put=1,get=3",
        "--consistency",
        "stale",
      ],
      120_000,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^op\s+ok\s+errors\s+ops\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+p99\.9 ms\s+max ms$/m);
    expect(stdout).toMatch(/^put\s+\d+/m);
    expect(stdout).toMatch(/^get\s+\d+/m);
    expect(stdout).toMatch(/load generator CPU \d+% of one core/);
  }, 150_000);

  it("refuses bad flags with one line and exit code 2", async () => {
    // A generous deadline: the CLI starts under tsx on a loaded machine.
    const { code, stdout, stderr } = await runCli(
      ["bench", "--endpoints", cluster.endpoints.join(","), "--mix", "put=x"],
      120_000,
    );
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")[0]).toContain("--mix: bad mix entry");
    expect(stderr).not.toContain("    at ");
  }, 150_000);
});
