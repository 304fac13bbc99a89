/**
 * Throughput of the state machine on this machine, and whether RocksDB work leaves the event
 * loop free (a 1 ms interval timer counts its ticks during the writes: a loop blocked by the
 * writes would tick far less than once per ms). Printed, never asserted (machines differ);
 * the figures are in docs/storage-rocksdb.md.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import RocksDB from "rocksdb-native";
import { afterEach, describe, expect, it } from "vitest";
import { partitionId } from "../src/node/ids.js";
import { encodeCommand, REQUEST_ID_BYTES } from "../src/node/storage/commands.js";
import { type ApplyEntry, StateMachine } from "../src/node/storage/state-machine.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tinyo-sm-bench-"));
  dirs.push(dir);
  return dir;
}

const BATCHES = 1000;
const KEYS_PER_BATCH = 100;
const VALUE = new Uint8Array(100).fill(42);
const keyOf = (n: number) => new TextEncoder().encode(`user:${String(n).padStart(10, "0")}`);

interface Timing {
  readonly ms: number;
  /** Ticks of a 1 ms interval timer during the work. */
  readonly ticks: number;
  /** Event loop utilization: the share of the time the main thread was busy (not waiting). */
  readonly elu: number;
}

/** Runs `work`, counting the ticks of a 1 ms interval meanwhile. */
async function timed(work: () => Promise<unknown>): Promise<Timing> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const elu = performance.eventLoopUtilization();
  const start = process.hrtime.bigint();
  await work();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const { utilization } = performance.eventLoopUtilization(elu);
  clearInterval(timer);
  return { ms, ticks, elu: utilization };
}

const row = (name: string, keys: number, t: Timing) =>
  `${name.padEnd(40)} ${String(Math.round((keys / t.ms) * 1000)).padStart(8)} keys/s ` +
  `${t.ms.toFixed(0).padStart(6)} ms  timer ${String(t.ticks).padStart(5)} ticks  ` +
  `main thread busy ${(t.elu * 100).toFixed(0).padStart(3)}%`;

/** `batches` batches of 100 puts, continuing from index 1, with request ids or without. */
function makeBatches(batches: number, withIds: boolean): ApplyEntry[][] {
  return Array.from({ length: batches }, (_, b) =>
    Array.from({ length: KEYS_PER_BATCH }, (_, k) => {
      const n = b * KEYS_PER_BATCH + k;
      const requestId = new Uint8Array(REQUEST_ID_BYTES);
      if (withIds) new DataView(requestId.buffer).setUint32(0, n + 1);
      return { index: n + 1, data: encodeCommand({ type: "put", key: keyOf(n), value: VALUE, requestId }) };
    }),
  );
}

describe("state machine throughput (printed, not asserted)", () => {
  it("measures 100-key batches, flush and snapshot reads", async () => {
    const rows: string[] = [];

    // rocksdb-native alone: the ceiling.
    const raw = new RocksDB(await tempDir());
    await raw.ready();
    const rawRun = await timed(async () => {
      for (let b = 0; b < BATCHES; b++) {
        const batch = raw.write({ capacity: KEYS_PER_BATCH, autoDestroy: true });
        for (let k = 0; k < KEYS_PER_BATCH; k++) batch.tryPut(keyOf(b * KEYS_PER_BATCH + k), VALUE);
        await batch.flush();
      }
    });
    rows.push(row("rocksdb-native write batch (unsynced)", BATCHES * KEYS_PER_BATCH, rawRun));
    rows.push(row("  then flush()", BATCHES * KEYS_PER_BATCH, await timed(() => raw.flush())));
    await raw.close();

    for (const withIds of [false, true]) {
      const sm = await StateMachine.open(await tempDir());
      const partition = partitionId(7);
      const batches = makeBatches(BATCHES, withIds);
      const applied = await timed(async () => {
        for (const entries of batches) await sm.apply(partition, entries);
      });
      rows.push(
        row(`StateMachine.apply ${withIds ? "with request ids" : "without request ids"}`, 100_000, applied),
      );
      rows.push(row("  then flush()", 100_000, await timed(() => sm.flush())));
      const snapshotRead = await timed(async () => {
        const snapshot = await sm.snapshot(partition);
        for await (const _ of snapshot.chunks());
      });
      rows.push(row("  snapshot read (all chunks)", 100_000, snapshotRead));
      expect(sm.appliedIndex(partition)).toBe(BATCHES * KEYS_PER_BATCH);
      await sm.close();
    }
    // The multi-Raft host's shape: many partitions applying at once (thread pool shared by all).
    const sm = await StateMachine.open(await tempDir());
    const PARTITIONS = 25;
    const work = Array.from({ length: PARTITIONS }, () => makeBatches(BATCHES / PARTITIONS, true));
    const concurrent = await timed(() =>
      Promise.all(
        work.map(async (batches, p) => {
          for (const entries of batches) await sm.apply(partitionId(p), entries);
        }),
      ),
    );
    rows.push(
      row(`${PARTITIONS} partitions at once, with request ids`, BATCHES * KEYS_PER_BATCH, concurrent),
    );
    await sm.close();

    console.log(
      `state machine on ${tmpdir()}, ${BATCHES} batches x ${KEYS_PER_BATCH} keys, 100-byte values ` +
        `(1 ms timer: ~1 tick per ms means the event loop stayed responsive):\n${rows.join("\n")}`,
    );
  }, 120_000);
});
