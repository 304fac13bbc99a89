/**
 * A 3-member etcd cluster on loopback for the comparison: temporary data directories, fsync on
 * (etcd's default: it fdatasyncs its WAL before acknowledging), stopped with SIGTERM and, after
 * a grace period, SIGKILL.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../test/integration/harness.js";

export class EtcdCluster {
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly endpoints: readonly string[],
    private readonly root: string,
  ) {}

  static async start(binary: string, members = 3): Promise<EtcdCluster> {
    const ports = await freePorts(members * 2);
    const root = mkdtempSync(join(tmpdir(), "tinyo-etcd-"));
    const names = Array.from({ length: members }, (_, i) => `m${i + 1}`);
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[members + i]}`;
    const initial = names.map((n, i) => `${n}=${peerUrl(i)}`).join(",");
    const cluster = new EtcdCluster(
      names.map((_, i) => `127.0.0.1:${ports[i]}`),
      root,
    );
    for (const [i, name] of names.entries()) {
      const client = `http://127.0.0.1:${ports[i]}`;
      const child = spawn(
        binary,
        [
          `--name=${name}`,
          `--data-dir=${join(root, name)}`,
          `--listen-client-urls=${client}`,
          `--advertise-client-urls=${client}`,
          `--listen-peer-urls=${peerUrl(i)}`,
          `--initial-advertise-peer-urls=${peerUrl(i)}`,
          `--initial-cluster=${initial}`,
          "--initial-cluster-state=new",
          "--initial-cluster-token=tinyo-bench",
          "--logger=zap",
          "--log-level=error",
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      cluster.children.push(child);
    }
    return cluster;
  }

  pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** SIGTERM, then SIGKILL whatever still runs after `graceMs`; removes the data. */
  async stop(graceMs = 5000): Promise<void> {
    const exits = this.children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => {
        const exited = new Promise((done) => c.once("exit", done));
        c.kill("SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
        return exited.finally(() => clearTimeout(timer));
      });
    await Promise.all(exits);
    rmSync(this.root, { recursive: true, force: true });
  }
}
