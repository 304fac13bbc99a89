/**
 * End to end, through the built `bin/run.js`: one 5-node cluster started with `cluster up` and
 * taken through the key-value commands, kill/restart, pause/resume, a network partition and its
 * heal, the REPL (piped stdin and a tmux terminal), `cluster down` (no process left, by pid) and
 * `cluster up` again from the data; then `cluster up` on a port in use. The checks share the
 * cluster, in order, to keep the suite short on a 2-core machine.
 */

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TinyoClient } from "../../src/client/index.js";
import { ClusterControl } from "../../src/cluster/index.js";
import { pidAlive } from "../../src/cluster/processes.js";
import { waitFor } from "../integration/harness.js";
import { buildCli, CliSession, freeBasePort, RUN_JS } from "./cli-harness.js";

const NODES = 5;
const PARTITIONS = 8;

describe("tinyo CLI end to end", () => {
  const cli = new CliSession();
  let base = 0;
  const control = () => ClusterControl.open({ home: cli.home });
  /** Every pid the cluster ever had, to check that none outlives `cluster down`. */
  const pids = new Set<number>();
  const recordPids = () => {
    const status = control().status();
    if (status.supervisor.pid !== null) pids.add(status.supervisor.pid);
    for (const node of status.nodes) if (node.pid !== null) pids.add(node.pid);
  };
  const address = (id: number) => `127.0.0.1:${base + id}`;

  beforeAll(async () => {
    await buildCli();
    base = await freeBasePort(NODES);
  }, 240_000);

  afterAll(async () => {
    await cli.run(["cluster", "down", "--purge"]).catch(() => undefined);
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    rmSync(cli.home, { recursive: true, force: true });
  }, 60_000);

  it("says that no cluster runs, in one line", async () => {
    const result = await cli.run(["get", "k"]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      "Error: no cluster 'default' is running; start one with `tinyo cluster up`",
    );
  });

  it("answers input it cannot parse with one line and exit code 2, before looking for a cluster", async () => {
    for (const [args, line] of [
      [["kill", "abc"], "Error: Expected an integer but received: abc"],
      [["cluster", "remove", "0"], "Error: Expected an integer greater than or equal to 1 but received: 0"],
      [["cluster", "add", "--bogus"], "Error: Nonexistent flag: --bogus"],
      [["get"], "Error: Missing 1 required arg:"],
    ] as const) {
      const result = await cli.run(args);
      expect({ args, code: result.code, stderr: result.stderr.trim() }).toEqual({
        args,
        code: 2,
        stderr: line,
      });
    }
  });

  it("starts a 5-node cluster and prints its nodes", async () => {
    const out = await cli.ok(
      ["cluster", "up", "--nodes", "5", "--partitions", String(PARTITIONS), "--base-port", String(base)],
      { timeoutMs: 150_000 },
    );
    expect(out).toMatch(/cluster 'default' is up/);
    for (let id = 1; id <= NODES; id++) expect(out).toContain(address(id));
    recordPids();
    expect(pids.size).toBe(NODES + 1);
    // Every node serves Prometheus metrics on base+100+id, over plain HTTP/1.1.
    for (let id = 1; id <= NODES; id++) {
      const metrics = await (await fetch(`http://127.0.0.1:${base + 100 + id}/metrics`)).text();
      expect(metrics, `node ${id}`).toContain(`tinyo_raft_term{partition=`);
    }
  }, 160_000);

  it("puts, gets, scans and deletes", async () => {
    for (const [key, value] of [
      ["user:1", "alice"],
      ["user:2", "bob"],
      ["user:3", "carol"],
    ]) {
      expect(await cli.ok(["put", key as string, value as string])).toMatch(
        /^OK {2}partition \d+, leader \d+/,
      );
    }
    expect((await cli.ok(["get", "user:1"])).trim()).toBe("alice");
    expect(await cli.ok(["put", "blob", "-"], { input: "from stdin" })).toMatch(/^OK/);
    expect((await cli.ok(["get", "blob", "--consistency", "stale"])).trim()).toBe("from stdin");
    expect((await cli.ok(["scan", "--prefix", "user:"])).trim().split("\n")).toEqual([
      "user:1\talice",
      "user:2\tbob",
      "user:3\tcarol",
    ]);
    expect((await cli.ok(["del", "user:3"])).trim()).toBe("deleted user:3");
    const missing = await cli.run(["get", "user:3"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("Error: not found: user:3");
    const bad = await cli.run(["put", "k", "v", "--endpoints", "nonsense"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toMatch(/^Error: --endpoints: 'nonsense' is not host:port/);
  }, 120_000);

  it("kills the leader of a key's partition: get still answers; restart brings it back", async () => {
    const put = JSON.parse(await cli.ok(["put", "user:1", "alice", "--json"])) as { leader: number };
    const leaderPid = control()
      .status()
      .nodes.find((n) => n.id === put.leader)?.pid;
    expect(leaderPid).toBeTypeOf("number");
    await cli.ok(["kill", String(put.leader)]);
    expect(pidAlive(leaderPid as number)).toBe(false);
    expect(
      control()
        .status()
        .nodes.find((n) => n.id === put.leader)?.state,
    ).toBe("killed");
    expect((await cli.ok(["get", "user:1", "--timeout", "20000"])).trim()).toBe("alice");
    await cli.ok(["restart", String(put.leader)]);
    recordPids();
    expect(
      control()
        .status()
        .nodes.find((n) => n.id === put.leader)?.state,
    ).toBe("running");
  }, 120_000);

  it("pauses and resumes a node", async () => {
    await cli.ok(["pause", "2"]);
    expect(
      control()
        .status()
        .nodes.find((n) => n.id === 2)?.state,
    ).toBe("paused");
    expect((await cli.ok(["get", "user:2", "--timeout", "20000"])).trim()).toBe("bob");
    await cli.ok(["resume", "2"]);
    expect(
      control()
        .status()
        .nodes.find((n) => n.id === 2)?.state,
    ).toBe("running");
  }, 120_000);

  it("partition 1,2 3,4,5: the majority writes, the minority's linearizable read is Unavailable; heal converges", async () => {
    // A partition replicated on node 1 and two of 3,4,5: its quorum is on the majority side, and
    // node 1 (a replica, cut off) cannot serve a linearizable read.
    const client = new TinyoClient({ endpoints: [address(3)] });
    const routes = await client.routes();
    client.close();
    const target = routes.routes.find((r) => r.replicas.includes(1) && !r.replicas.includes(2));
    expect(target).toBeDefined();
    let key = "";
    for (let i = 0; ; i++) {
      const candidate = `split:${i}`;
      const put = JSON.parse(await cli.ok(["put", candidate, "before", "--json"])) as { partition: number };
      if (put.partition === target?.partition) {
        key = candidate;
        break;
      }
    }
    await cli.ok(["partition", "1,2", "3,4,5"]);
    expect(
      await cli.ok(["put", key, "during", "--endpoints", address(3), "--timeout", "30000"], {
        timeoutMs: 60_000,
      }),
    ).toMatch(/^OK/);
    const minority = await cli.run(["get", key, "--endpoints", address(1), "--timeout", "3000"]);
    expect(minority.code).toBe(1);
    expect(minority.stderr.trim()).toMatch(/^Error: Unavailable: /);
    expect(minority.stderr.trim().split("\n")).toHaveLength(1);
    await cli.ok(["heal"]);
    await waitFor(
      "node 1 to read the majority's write after heal",
      async () =>
        (await cli.ok(["get", key, "--endpoints", address(1), "--timeout", "10000"])).trim() === "during",
      60_000,
      500,
    );
  }, 180_000);

  it("runs a REPL session from stdin: commands, an error, then exit", async () => {
    const script = "put repl:1 one\nget repl:1\nnonsense\nget missing:key\nget repl:1\nexit\n";
    const result = await cli.run(["repl"], { input: script });
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").filter((l) => l === "one")).toHaveLength(2);
    expect(result.stderr).toContain("Error: unknown command 'nonsense'");
    expect(result.stderr).toContain("Error: not found: missing:key");
  }, 60_000);

  it("runs the REPL in a terminal (tmux): completion, an error, exit", async () => {
    const socket = `tinyo-e2e-${process.pid}`;
    const tmux = (...args: string[]) =>
      execFileSync("tmux", ["-L", socket, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    const screen = () => tmux("capture-pane", "-p", "-t", "repl");
    try {
      tmux(
        "new-session",
        "-d",
        "-s",
        "repl",
        "-x",
        "160",
        "-y",
        "50",
        `env TINYO_HOME=${cli.home} ${process.execPath} ${RUN_JS}`,
      );
      await waitFor("the REPL prompt", () => screen().includes("tinyo:default>"), 30_000, 100);
      tmux("send-keys", "-t", "repl", "ge", "Tab"); // completes to `get `
      tmux("send-keys", "-t", "repl", "user:2", "Enter");
      await waitFor("get's answer", () => screen().includes("bob"), 30_000, 100);
      tmux("send-keys", "-t", "repl", "kill 99", "Enter");
      await waitFor("the error", () => screen().includes("Error: there is no node 99"), 30_000, 100);
      tmux("send-keys", "-t", "repl", "get user:1", "Enter");
      await waitFor("the session to go on", () => screen().includes("alice"), 30_000, 100);
      tmux("send-keys", "-t", "repl", "exit", "Enter");
      await waitFor(
        "the REPL to exit",
        () => {
          try {
            tmux("has-session", "-t", "repl");
            return false;
          } catch {
            return true;
          }
        },
        30_000,
        100,
      );
    } finally {
      try {
        tmux("kill-server");
      } catch {
        // already gone with its last session
      }
    }
  }, 120_000);

  it("cluster down leaves no process; cluster up again finds every key", async () => {
    recordPids();
    await cli.ok(["cluster", "down"], { timeoutMs: 60_000 });
    expect([...pids].filter(pidAlive)).toEqual([]);
    expect(
      control()
        .status()
        .nodes.every((n) => n.pid === null),
    ).toBe(true);
    expect(await cli.ok(["cluster", "up"], { timeoutMs: 150_000 })).toMatch(/is up again/);
    recordPids();
    const scan = await cli.ok(["scan"]);
    for (const line of ["user:1\talice", "user:2\tbob", "blob\tfrom stdin", "repl:1\tone"]) {
      expect(scan).toContain(line);
    }
    await cli.ok(["cluster", "down"], { timeoutMs: 60_000 });
    expect([...pids].filter(pidAlive)).toEqual([]);
  }, 240_000);

  it("refuses a port in use, naming it, and leaves nothing running", async () => {
    const busyBase = await freeBasePort(2);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(busyBase + 2, "127.0.0.1", resolve));
    try {
      const result = await cli.run([
        "cluster",
        "up",
        "--cluster",
        "busy",
        "--nodes",
        "2",
        "--replication",
        "1",
        "--base-port",
        String(busyBase),
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `Error: port ${busyBase + 2} (node 2, 127.0.0.1) is in use; stop what uses it or choose another --base-port`,
      );
      const status = await cli.run(["cluster", "status", "--cluster", "busy"]);
      expect(status.stderr).toMatch(/no cluster 'busy' is running/);
    } finally {
      server.close();
    }
  }, 60_000);
});
