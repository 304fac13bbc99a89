/**
 * Throughput of the Raft log engine on this machine: sequential awaited writes, fsync on and off.
 *   npm run bench:raft-log
 * Printed, never asserted: disks differ, and `npm test` asserts no speed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeId } from "../src/node/ids.js";
import type { Entry } from "../src/node/raft/types.js";
import { type GroupWrite, RaftEngine } from "../src/node/storage/raft-engine.js";

const DATA = new Uint8Array(100).fill(42);
const entry = (index: number): Entry => ({ type: "normal", index, term: 1, data: DATA });

interface Case {
  readonly name: string;
  readonly fsync: boolean;
  readonly writes: number;
  /** The batch of write number i (1-based) */
  readonly batch: (i: number) => GroupWrite[];
}

const hardState = (commit: number) => ({ term: 1, vote: nodeId(1), commit });
const cases: Case[] = [
  {
    name: "1 entry, fsync",
    fsync: true,
    writes: 2000,
    batch: (i) => [{ group: 0, entries: [entry(i)], hardState: hardState(i - 1) }],
  },
  {
    name: "1 entry, no fsync",
    fsync: false,
    writes: 20000,
    batch: (i) => [{ group: 0, entries: [entry(i)], hardState: hardState(i - 1) }],
  },
  {
    name: "100 entries, fsync",
    fsync: true,
    writes: 500,
    batch: (i) => [
      { group: 0, entries: Array.from({ length: 100 }, (_, k) => entry((i - 1) * 100 + k + 1)) },
    ],
  },
  {
    name: "100 entries, no fsync",
    fsync: false,
    writes: 2000,
    batch: (i) => [
      { group: 0, entries: Array.from({ length: 100 }, (_, k) => entry((i - 1) * 100 + k + 1)) },
    ],
  },
  {
    name: "32 groups x 1 entry, fsync",
    fsync: true,
    writes: 1000,
    batch: (i) =>
      Array.from({ length: 32 }, (_, group) => ({ group, entries: [entry(i)], hardState: hardState(i - 1) })),
  },
];

const rows: string[] = [];
for (const c of cases) {
  const dir = await mkdtemp(join(tmpdir(), "tinyo-raft-bench-"));
  try {
    const engine = await RaftEngine.open(dir, { fsync: c.fsync });
    const batches = Array.from({ length: c.writes }, (_, i) => c.batch(i + 1));
    const entries = batches.reduce((n, b) => n + b.reduce((m, w) => m + w.entries.length, 0), 0);
    const start = process.hrtime.bigint();
    for (const b of batches) await engine.write(b);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const { bytesWritten } = engine.stats();
    await engine.close();
    rows.push(
      `${c.name.padEnd(28)} ${String(Math.round(c.writes / seconds)).padStart(8)} writes/s ` +
        `${String(Math.round(entries / seconds)).padStart(9)} entries/s ` +
        `${(bytesWritten / seconds / 1e6).toFixed(1).padStart(7)} MB/s ` +
        `${((seconds / c.writes) * 1e6).toFixed(0).padStart(6)} us/write`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(`raft-engine on ${tmpdir()} (sequential awaited writes):\n${rows.join("\n")}`);
