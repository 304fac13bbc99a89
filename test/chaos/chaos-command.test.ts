/**
 * `tinyo chaos` end to end, real node processes: a short run with every nemesis must be found
 * linearizable; the same machinery must catch stale reads (gets at --consistency stale, each
 * client reading from its own node, while partitions cut some replicas off: with 3 nodes every
 * partition leaves a node that replicates keys it no longer hears about); bad flags fail fast.
 * Every node process a run started is gone when it ends.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../integration/harness.js";

const scratch = mkdtempSync(join(tmpdir(), "tinyo-chaos-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface ChaosJson {
  verdict: string;
  ops: number;
  ok: number;
  indeterminate: number;
  faults: string[];
  anomalyFile?: string;
  logs?: string;
  nodePids: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function chaos(
  args: string[],
  nodes = 3,
): Promise<{ code: number | null; result: ChaosJson; stderr: string }> {
  const { code, stdout, stderr } = await runCli(
    ["chaos", "--json", "--nodes", String(nodes), ...args],
    150_000,
  );
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ChaosJson;
  return { code, result, stderr };
}

describe("tinyo chaos", () => {
  it("finds a 20-second run with kills, pauses and partitions linearizable", async () => {
    const history = join(scratch, "history.jsonl");
    const { code, result, stderr } = await chaos(["--duration", "20s", "--seed", "1", "--history", history]);
    expect(result.verdict, stderr).toBe("linearizable");
    expect(code).toBe(0);
    expect(result.ok).toBeGreaterThan(0);
    expect(result.faults.length).toBeGreaterThan(0);
    const lines = readFileSync(history, "utf8").trim().split("\n");
    expect(lines.filter((l) => l.includes('"type":"op"'))).toHaveLength(result.ops);
    expect(result.nodePids.filter(alive)).toEqual([]);
  }, 180_000);

  it("finds a 20-second run with membership changes linearizable", async () => {
    // 4 nodes: removing one leaves 3, the replication factor.
    const { code, result, stderr } = await chaos(
      ["--duration", "20s", "--seed", "3", "--nemesis", "membership"],
      4,
    );
    expect(result.verdict, stderr).toBe("linearizable");
    expect(code).toBe(0);
    expect(
      result.faults.some((f) => /^remove member \d$/.test(f)),
      result.faults.join("; "),
    ).toBe(true);
    expect(result.nodePids.filter(alive)).toEqual([]);
  }, 180_000);

  it("catches the stale reads of --consistency stale under partitions", async () => {
    const { code, result } = await chaos([
      "--duration",
      "12s",
      "--seed",
      "2",
      "--nemesis",
      "partition",
      "--consistency",
      "stale",
    ]);
    expect(result.verdict).toBe("not linearizable");
    expect(code).toBe(1);
    const window = readFileSync(result.anomalyFile ?? "", "utf8");
    expect(window).toContain("NOT linearizable");
    expect(window).toContain("partition");
    expect(result.nodePids.filter(alive)).toEqual([]);
    if (result.logs) rmSync(result.logs, { recursive: true, force: true });
  }, 180_000);

  it("refuses a bad flag with one line and exit code 2 (the flags' rules: classify-and-options.test.ts)", async () => {
    const { code, stderr } = await runCli(["chaos", "--nemesis", "flood"], 60_000);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'Error: --nemesis flood: "flood" is not one of kill, pause, partition, membership (or none)',
    );
  }, 90_000);
});
