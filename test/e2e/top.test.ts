/**
 * `tinyo top` in a real terminal: tmux (on a socket of its own) runs the command against a live
 * 5-node cluster of real processes; the test kills the node that leads the most partitions and
 * reads the pane until the node shows DOWN, every partition it led shows another leader, and
 * the event feed names each election with a term higher than before.
 */

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, TestCluster, waitFor } from "../integration/harness.js";

const run = promisify(execFile);
const SOCKET = `tinyo-e2e-${process.pid}`;
const SESSION = "top";
const PARTITIONS = 16;

const tmux = async (...args: string[]) => (await run("tmux", ["-L", SOCKET, ...args])).stdout;
const pane = () => tmux("capture-pane", "-p", "-t", SESSION);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("tinyo top against a live 5-node cluster", () => {
  let cluster: TestCluster;
  let topPid: number | undefined;

  beforeAll(async () => {
    await run("tmux", ["-V"]).catch(() => {
      throw new Error("tmux is not installed: .ci/run installs it (apt-get install tmux)");
    });
    cluster = await TestCluster.create(5, { partitions: PARTITIONS, tickMs: 20 });
    cluster.startAll();
    // Leader balancing settled: the leaders the test reads stay put until it kills one.
    await cluster.waitForBalancedLeaders(60_000);
  }, 90_000);

  afterAll(async () => {
    await tmux("kill-server").catch(() => {});
    if (topPid !== undefined) await waitFor("tinyo top to exit", () => !pidAlive(topPid as number), 20_000);
    await cluster?.killAll();
    expect(cluster?.alivePids() ?? []).toEqual([]);
    cluster?.removeData();
  }, 60_000);

  it("shows the killed node DOWN, a new leader with a higher term for each partition it led, and the elections", async () => {
    const command = [
      "exec",
      JSON.stringify(process.execPath),
      "--import tsx",
      JSON.stringify(join(REPO, "bin", "dev.js")),
      "top --endpoints",
      cluster.node(1).address,
    ].join(" ");
    await tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-c", REPO, command);
    topPid = Number((await tmux("list-panes", "-t", SESSION, "-F", "#{pane_pid}")).trim());

    await waitFor(
      "the dashboard to show every node up and every partition led",
      async () => {
        const text = await pane();
        return text.includes("nodes 5/5 up") && text.includes(`leaders ${PARTITIONS}/${PARTITIONS}`);
      },
      90_000,
      250,
    );

    // The node leading the most partitions, and each partition's term before the kill.
    const before = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
    const led = new Map<number, number[]>();
    const termBefore = new Map<number, number>();
    for (const s of before) {
      for (const g of s.groups) {
        termBefore.set(g.partition, Math.max(termBefore.get(g.partition) ?? 0, Number(g.term)));
        if (g.leader === s.node && g.role === 4) led.set(s.node, [...(led.get(s.node) ?? []), g.partition]);
      }
    }
    const [victim, victimLed] = [...led].sort((a, b) => b[1].length - a[1].length)[0] as [number, number[]];
    expect(victimLed.length).toBeGreaterThan(0);
    await cluster.stop(victim, "SIGKILL");
    /** The feed's election of partition p by another node with a term above the one before the kill. */
    const newElection = (text: string, p: number) =>
      [...text.matchAll(new RegExp(`election: partition ${p} elected node (\\d+), term (\\d+)`, "g"))]
        .map(([, node, term]) => ({ node: Number(node), term: Number(term) }))
        .find(({ node, term }) => node !== victim && term > (termBefore.get(p) as number));

    const screen = await waitFor(
      `node ${victim} DOWN and new leaders for partitions ${victimLed.join(", ")}`,
      async () => {
        const text = await pane();
        const row = text.split("\n").find((l) => new RegExp(`^[ >]\\s+${victim} 127\\.0\\.0\\.1`).test(l));
        if (!row || !/DOWN/.test(row)) return undefined;
        if (!text.includes(`leaders ${PARTITIONS}/${PARTITIONS}`)) return undefined;
        // The feed may also hold older elections of these partitions: only a newer term counts.
        const elected = victimLed.every((p) => newElection(text, p) !== undefined);
        return elected ? text : undefined;
      },
      90_000,
      250,
    );

    expect(screen).toMatch(new RegExp(`node ${victim} is down: it led ${victimLed.length} partition`));
    for (const p of victimLed) {
      // The ring shows the partition with its (new) leader in brackets, and the victim crossed out.
      const cell = new RegExp(`\\bp${p}((?:\\s*\\[?\\s*\\d+[\\]x~]?)+)`).exec(screen)?.[1] ?? "";
      expect(cell).toMatch(/\[\s*\d+\]/);
      expect(cell).not.toContain(`[${victim}]`);
      expect(cell).toMatch(new RegExp(`\\b${victim}x`));
    }
  }, 240_000); // two waits of up to 90 s each, plus the start of `tinyo top` under tsx
});
