/**
 * `tinyo top` follows the member list while it runs: tmux (on a socket of its own) runs the BUILT
 * CLI's dashboard against a 3-node local cluster; `tinyo cluster add` makes a 4th node appear
 * (UP, with a "joined" event) and `tinyo cluster remove 4` makes it disappear again (with a
 * "left" event), without restarting the dashboard.
 */

import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterControl } from "../../src/cluster/index.js";
import { pidAlive } from "../../src/cluster/processes.js";
import { REPO, waitFor } from "../integration/harness.js";
import { buildCli, CliSession, freeBasePort, RUN_JS } from "./cli-harness.js";

const run = promisify(execFile);
const SOCKET = `tinyo-e2e-members-${process.pid}`;
const SESSION = "top";
const PARTITIONS = 8;

const tmux = async (...args: string[]) => (await run("tmux", ["-L", SOCKET, ...args])).stdout;
const pane = () => tmux("capture-pane", "-p", "-t", SESSION);
/** The node table's row of node `id` (the selected row starts with ">"). */
const row = (text: string, id: number) =>
  text.split("\n").find((l) => new RegExp(`^[ >]\\s+${id} 127\\.0\\.0\\.1`).test(l));

describe("tinyo top while nodes join and leave", () => {
  const cli = new CliSession();
  const pids = new Set<number>();
  let topPid: number | undefined;

  beforeAll(async () => {
    await run("tmux", ["-V"]).catch(() => {
      throw new Error("tmux is not installed: .ci/run installs it (apt-get install tmux)");
    });
    await buildCli();
    const base = await freeBasePort(4);
    await cli.ok(
      ["cluster", "up", "--nodes", "3", "--partitions", String(PARTITIONS), "--base-port", String(base)],
      { timeoutMs: 150_000 },
    );
  }, 240_000);

  afterAll(async () => {
    await tmux("kill-server").catch(() => {});
    if (topPid !== undefined) await waitFor("tinyo top to exit", () => !pidAlive(topPid as number), 20_000);
    for (const node of ClusterControl.open({ home: cli.home }).status().nodes)
      if (node.pid !== null) pids.add(node.pid);
    await cli.run(["cluster", "down", "--purge"]).catch(() => undefined);
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    rmSync(cli.home, { recursive: true, force: true });
  }, 60_000);

  it("shows a node added by `cluster add` and drops it after `cluster remove`", async () => {
    const command = `exec env TINYO_HOME=${JSON.stringify(cli.home)} NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(RUN_JS)} top`;
    await tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-c", REPO, command);
    topPid = Number((await tmux("list-panes", "-t", SESSION, "-F", "#{pane_pid}")).trim());
    await waitFor(
      "the dashboard to show 3 nodes up and every partition led",
      async () => {
        const text = await pane();
        return text.includes("nodes 3/3 up") && text.includes(`leaders ${PARTITIONS}/${PARTITIONS}`);
      },
      90_000,
      250,
    );
    expect(row(await pane(), 4)).toBeUndefined();

    await cli.ok(["cluster", "add"], { timeoutMs: 150_000 });
    const joined = await waitFor(
      "node 4 on the dashboard, UP",
      async () => {
        const text = await pane();
        return text.includes("nodes 4/4 up") && /UP/.test(row(text, 4) ?? "") ? text : undefined;
      },
      60_000,
      250,
    );
    expect(joined).toMatch(/node 4 joined the cluster \(127\.0\.0\.1:\d+\)/);

    await cli.ok(["cluster", "remove", "4"], { timeoutMs: 200_000 });
    const left = await waitFor(
      "node 4 off the dashboard",
      async () => {
        const text = await pane();
        return text.includes("nodes 3/3 up") && row(text, 4) === undefined ? text : undefined;
      },
      60_000,
      250,
    );
    expect(left).toContain("node 4 was removed from the cluster");
    expect(left).toContain("node 4 left the cluster");
  }, 600_000);
});
