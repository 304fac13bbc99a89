/**
 * How long a partition stays unwritable after its leader is SIGKILLed, with the default Raft
 * timing (50 ms ticks, elections after 10-20 ticks): 3 real node processes, fsync on.
 *   npm run bench:failover [-- --rounds 10]
 * Each round writes a key, SIGKILLs the leader of its partition, and times from the kill until a
 * put to that partition succeeds again (the client retries every few ms with a short deadline),
 * then restarts the node. Printed, never asserted: `npm test` asserts no speed.
 */
import { parseArgs } from "node:util";
import { TinyoClient } from "../src/client/index.js";
import { partitionOf } from "../src/node/ring/hash.js";
import { TestCluster, waitFor } from "../test/integration/harness.js";

const PARTITIONS = 8;
const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) {
  console.error("--rounds must be an integer from 1 to 100");
  process.exit(2);
}

const cluster = await TestCluster.create(3, { partitions: PARTITIONS, tickMs: 50 });
const text = new TextEncoder();
const outages: number[] = [];
try {
  cluster.startAll();
  await cluster.waitForLeaders(30_000);
  for (let round = 0; round < rounds; round++) {
    const key = `failover:${round}`;
    const client = new TinyoClient({ endpoints: cluster.endpoints, partitions: PARTITIONS, deadlineMs: 300 });
    try {
      await waitFor("a first write", () => client.put(key, "before").then(() => true), 10_000);
      const leaders = await cluster.waitForLeaders();
      const victim = leaders.get(partitionOf(text.encode(key), PARTITIONS)) as number;
      const killed = performance.now();
      await cluster.stop(victim, "SIGKILL");
      await waitFor("a write after the failover", () => client.put(key, "after").then(() => true), 20_000, 5);
      const ms = performance.now() - killed;
      outages.push(ms);
      console.log(`round ${round + 1}: node ${victim} killed, writes again after ${ms.toFixed(0)} ms`);
      cluster.start(victim);
      await cluster.waitForLeaders(30_000);
    } finally {
      client.close();
    }
  }
} finally {
  await cluster.killAll();
  cluster.removeData();
}
outages.sort((a, b) => a - b);
const at = (q: number) => outages[Math.min(outages.length - 1, Math.floor(q * outages.length))] ?? 0;
console.log(
  `write outage after a leader SIGKILL over ${outages.length} rounds: ` +
    `median ${at(0.5).toFixed(0)} ms, min ${at(0).toFixed(0)} ms, max ${at(1).toFixed(0)} ms`,
);
