/**
 * Measures (prints, asserts only that everything arrived) one peer link between two processes:
 * the CPU cost of one batch on each side (on the peer stream), and the throughput of 100-entry
 * appends.
 * The receiver runs in a child process (receiver-process.ts) so that process.cpuUsage() splits
 * the two sides; the sender's figure includes the test runner's idle overhead.
 */

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { nodeId } from "../src/node/ids.js";
import { type GroupMessage, PeerTransport } from "../src/node/transport/peer-transport.js";
import { append, group, heartbeat, nextMacrotask, TOKEN } from "../test/transport/harness.js";

interface ChildStats {
  messages: number;
  calls: number;
  cpu: NodeJS.CpuUsage;
}

class Receiver {
  private readonly child: ChildProcess;
  private pending: ((s: ChildStats) => void)[] = [];
  readonly port: Promise<number>;

  constructor() {
    this.child = fork(fileURLToPath(new URL("./transport/receiver-process.ts", import.meta.url)), [TOKEN], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.port = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.on("message", (m: { type: string; port?: number } & ChildStats) => {
        if (m.type === "ready") resolve(m.port as number);
        if (m.type === "stats") this.pending.shift()?.(m);
      });
    });
  }

  /** Its stats once it has counted `messages` in all (a stream's flush() does not wait for the peer). */
  async statsAt(messages: number): Promise<ChildStats> {
    for (;;) {
      const stats = await this.stats();
      if (stats.messages >= messages) return stats;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  stats(): Promise<ChildStats> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.child.send({ type: "stats" });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.send({ type: "exit" });
    await exited;
  }
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const a = nodeId(1);
const b = nodeId(2);

let receiver: Receiver | undefined;
let sender: PeerTransport | undefined;
afterEach(async () => {
  await sender?.close();
  await receiver?.stop();
  sender = undefined;
  receiver = undefined;
});

describe("PeerTransport measured (printed, not asserted)", () => {
  it("CPU per batch on each side, and 100-entry appends per second through one link", async () => {
    receiver = new Receiver();
    const port = await receiver.port;
    sender = new PeerTransport({
      self: a,
      clusterToken: TOKEN,
      peers: new Map([[b, `127.0.0.1:${port}`]]),
      onMessages: () => {},
    });
    const link = sender;

    // Batches of one heartbeat, one at a time (each written before the next is queued): the fixed
    // cost of a batch.
    const sequential = async (calls: number) => {
      for (let i = 0; i < calls; i++) {
        link.send(b, [heartbeat(a, b, i)]);
        await link.flush();
      }
    };
    await sequential(2000); // warm-up: JIT, session
    // Best of three rounds: the machine is shared with the test runner.
    const calls = 1000;
    let best = {
      wall: Number.POSITIVE_INFINITY,
      sender: Number.POSITIVE_INFINITY,
      receiver: Number.POSITIVE_INFINITY,
    };
    for (let round = 0; round < 3; round++) {
      const r0 = await receiver.stats();
      const s0 = process.cpuUsage();
      const t0 = performance.now();
      await sequential(calls);
      const r1 = await receiver.statsAt(r0.messages + calls);
      const wall = performance.now() - t0;
      const s1 = process.cpuUsage(s0);
      expect(r1.messages - r0.messages).toBe(calls);
      best = {
        wall: Math.min(best.wall, (wall / calls) * 1000),
        sender: Math.min(best.sender, (cpuMs(s1) / calls) * 1000),
        receiver: Math.min(best.receiver, ((cpuMs(r1.cpu) - cpuMs(r0.cpu)) / calls) * 1000),
      };
    }
    console.log(
      `Batch of 1 heartbeat, one at a time (best of 3 x ${calls}): ${best.wall.toFixed(0)} us wall per batch ` +
        `(${(1e6 / best.wall).toFixed(0)} batches/s); CPU per batch: sender ${best.sender.toFixed(0)} us, ` +
        `receiver ${best.receiver.toFixed(0)} us`,
    );

    // Appends of 100 entries x 100 bytes, produced as fast as the link takes them (the producer
    // keeps at most ~200 queued, as Raft's in-flight window would).
    const entries = 100;
    const appends = 4000;
    const make = (i: number): GroupMessage => ({
      group: group(i % 32),
      message: append(a, b, i * entries, entries),
    });
    const premade = Array.from({ length: 200 }, (_, i) => make(i));
    const produce = async (total: number) => {
      let produced = 0;
      while (produced < total) {
        const queued = link.stats().peers[0].queued;
        if (queued < 200) {
          const n = Math.min(20, total - produced);
          const batch: GroupMessage[] = [];
          for (let k = 0; k < n; k++) batch.push(premade[(produced + k) % premade.length]);
          link.send(b, batch);
          produced += n;
        }
        await nextMacrotask();
      }
      await link.flush();
    };
    await produce(500); // warm-up
    const sentBefore = link.stats().sentBatches;
    const r0 = await receiver.stats();
    const s0 = process.cpuUsage();
    const t0 = performance.now();
    await produce(appends);
    const r1 = await receiver.statsAt(r0.messages + appends);
    const wall = performance.now() - t0;
    const s1 = process.cpuUsage(s0);
    const batches = link.stats().sentBatches - sentBefore;
    const perSec = appends / (wall / 1000);
    const mb = (appends * entries * 100) / 1e6;
    console.log(
      `100-entry appends (100 B entries) through one link: ${perSec.toFixed(0)} appends/s = ` +
        `${(perSec * entries).toFixed(0)} entries/s, ${(mb / (wall / 1000)).toFixed(1)} MB/s of entry data; ` +
        `${batches} batches, ${(appends / batches).toFixed(1)} appends per batch; CPU per append: ` +
        `sender ${((cpuMs(s1) / appends) * 1000).toFixed(0)} us, ` +
        `receiver ${(((cpuMs(r1.cpu) - cpuMs(r0.cpu)) / appends) * 1000).toFixed(0)} us`,
    );
    expect(r1.messages - r0.messages).toBe(appends);
    expect(link.stats().dropped).toBe(0);
  });
});
