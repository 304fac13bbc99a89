import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Config, Entry, HardState, SnapshotMeta } from "../../src/node/raft/types.js";
import { InvalidLogWriteError, NotARaftLogError } from "../../src/node/storage/log-errors.js";
import { type GroupWrite, RaftEngine } from "../../src/node/storage/raft-engine.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tinyo-raft-engine-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const config: Config = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [nodeId(4)] };
const normal = (
  index: number,
  term: number,
  data: Uint8Array = new Uint8Array([index & 255, 0, 255]),
): Entry => ({
  type: "normal",
  index,
  term,
  data,
});
const confChange = (index: number, term: number): Entry => ({
  type: "confChange",
  index,
  term,
  change: { type: "addVoter", node: nodeId(4) },
  config: { voters: [nodeId(1), nodeId(2), nodeId(3), nodeId(4)], learners: [] },
});
const range = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => normal(from + i, term));
const hs = (term: number, vote: number, commit: number): HardState => ({
  term,
  vote: vote === 0 ? 0 : nodeId(vote),
  commit,
});

/** The engine's semantics, the obvious way: what load() must return. */
class Model {
  private readonly groups = new Map<
    number,
    { hardState: HardState; snapshot: SnapshotMeta | undefined; floor: number; entries: Entry[] }
  >();

  private group(id: number) {
    let g = this.groups.get(id);
    if (!g) {
      g = { hardState: hs(0, 0, 0), snapshot: undefined, floor: 0, entries: [] };
      this.groups.set(id, g);
    }
    return g;
  }

  write(batch: readonly GroupWrite[]): void {
    for (const w of batch) {
      if (!w.snapshot && !w.hardState && w.entries.length === 0) continue;
      const g = this.group(w.group);
      if (w.snapshot) {
        g.snapshot = w.snapshot;
        g.floor = w.snapshot.index;
        g.entries = [];
      }
      const kept = w.entries.filter((e) => e.index > g.floor);
      const first = kept[0];
      if (first) g.entries = [...g.entries.filter((e) => e.index < first.index), ...kept];
      if (w.hardState) g.hardState = w.hardState;
    }
  }

  compact(id: number, meta: SnapshotMeta): void {
    const g = this.group(id);
    if (meta.index <= g.floor) return;
    g.floor = meta.index;
    g.snapshot = meta;
    g.entries = g.entries.filter((e) => e.index > meta.index);
  }

  /** The meta a compaction at `index` carries: the term there and a configuration. */
  metaAt(id: number, index: number, cfg: Config = config): SnapshotMeta {
    const g = this.group(id);
    const term = g.entries.find((e) => e.index === index)?.term ?? g.snapshot?.term ?? 0;
    return { index, term, config: cfg };
  }

  last(id: number): number {
    const g = this.group(id);
    return g.entries[g.entries.length - 1]?.index ?? g.floor;
  }

  floor(id: number): number {
    return this.group(id).floor;
  }

  ids(): number[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  load(id: number) {
    const g = this.group(id);
    return { hardState: g.hardState, snapshot: g.snapshot, entries: g.entries };
  }
}

function expectSame(engine: RaftEngine, model: Model): void {
  expect(engine.groups()).toEqual(model.ids());
  for (const id of model.ids()) expect(engine.load(id), `group ${id}`).toEqual(model.load(id));
}

/** A seeded PRNG (mulberry32). */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe("RaftEngine", () => {
  it("round-trips entries, conf changes, hard states, truncation and snapshots across reopen", async () => {
    const dir = join(await tempDir(), "nested", "raft");
    const model = new Model();
    let engine = await RaftEngine.open(dir, { fsync: true });
    const binary = new Uint8Array(300).map((_, i) => (i * 7) & 255);
    const batches: GroupWrite[][] = [
      [
        { group: 0, entries: [normal(1, 1, binary), normal(2, 1, new Uint8Array(0)), confChange(3, 1)] },
        { group: 1, entries: range(1, 10, 1), hardState: hs(1, 2, 4) },
        { group: 7, entries: range(1, 4, 1), hardState: hs(1, 0, 0) },
      ],
      [
        { group: 0, entries: [normal(4, 2)], hardState: hs(2, 1, 3) },
        // A new leader truncates group 1's suffix 8..10.
        { group: 1, entries: range(6, 7, 2), hardState: hs(2, 3, 5) },
        // Snapshot and the entries that follow it, in one write.
        {
          group: 7,
          entries: range(11, 12, 3),
          snapshot: { index: 10, term: 3, config },
          hardState: hs(3, 3, 10),
        },
      ],
      // The same group twice in one batch; a hard state alone; empty writes.
      [
        { group: 0, entries: range(5, 6, 2) },
        { group: 0, entries: [normal(6, 3)] },
        { group: 2, entries: [] },
      ],
      [{ group: 3, entries: [], hardState: hs(5, 5, 0) }],
    ];
    for (const b of batches) {
      await engine.write(b);
      model.write(b);
    }
    await engine.write([]);
    expectSame(engine, model);
    expect(engine.load(1).entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
      [6, 2],
      [7, 2],
    ]);
    expect(engine.load(7).entries.map((e) => e.index)).toEqual([11, 12]);
    expect(engine.load(0).entries[0]).toEqual(normal(1, 1, binary));
    await engine.close();

    engine = await RaftEngine.open(dir, { fsync: true });
    expectSame(engine, model);
    {
      const meta = model.metaAt(0, 2);
      await engine.compact(0, meta);
      model.compact(0, meta);
    }
    expect(engine.load(0).entries.map((e) => e.index)).toEqual([3, 4, 5, 6]);
    await engine.close();
    engine = await RaftEngine.open(dir, { fsync: true });
    expectSame(engine, model);
    expect(engine.load(99)).toEqual({ hardState: hs(0, 0, 0), snapshot: undefined, entries: [] });
    await engine.close();
  });

  it("keeps a compaction's term and configuration, and loads the newer of snapshot and compaction", async () => {
    const dir = await tempDir();
    const options = { fsync: true, segmentBytes: 1024 };
    let engine = await RaftEngine.open(dir, options);
    const grown: Config = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [nodeId(4), nodeId(5)] };
    await engine.write([{ group: 1, entries: range(1, 30, 2), hardState: hs(2, 1, 30) }]);
    await engine.compact(1, { index: 20, term: 2, config: grown });
    const compacted = { index: 20, term: 2, config: grown };
    expect(engine.load(1)).toMatchObject({ snapshot: compacted, hardState: hs(2, 1, 30) });
    expect(engine.load(1).entries.map((e) => e.index)).toEqual(range(21, 30, 2).map((e) => e.index));
    // An older compaction changes nothing.
    await engine.compact(1, { index: 10, term: 1, config });
    expect(engine.load(1).snapshot).toEqual(compacted);
    await engine.close();
    engine = await RaftEngine.open(dir, options);
    expect(engine.load(1).snapshot).toEqual(compacted);
    expect(engine.load(1).entries.map((e) => e.index)).toEqual(range(21, 30, 2).map((e) => e.index));

    // An installed snapshot newer than the compaction replaces it; a later compaction, it.
    const installed = { index: 40, term: 3, config };
    await engine.write([
      { group: 1, entries: range(41, 45, 3), snapshot: installed, hardState: hs(3, 2, 40) },
    ]);
    expect(engine.load(1).snapshot).toEqual(installed);
    await engine.compact(1, { index: 43, term: 3, config: grown });
    // Enough writes to roll segments: the compaction survives in the checkpoints alone.
    for (let i = 46; i < 100; i++) {
      await engine.write([{ group: 1, entries: [normal(i, 3, new Uint8Array(64))], hardState: hs(3, 2, i) }]);
    }
    await engine.compact(1, { index: 90, term: 3, config: grown });
    expect(engine.stats().segmentsDeleted).toBeGreaterThan(0);
    await engine.close();
    engine = await RaftEngine.open(dir, options);
    expect(engine.load(1).snapshot).toEqual({ index: 90, term: 3, config: grown });
    expect(engine.load(1).entries.map((e) => e.index)).toEqual(range(91, 99, 3).map((e) => e.index));
    await expect(engine.compact(1, { index: 95, term: -1, config })).rejects.toThrow(InvalidLogWriteError);
    await engine.close();
  });

  it("refuses writes that would leave a gap, and keeps working", async () => {
    const engine = await RaftEngine.open(await tempDir(), { fsync: false });
    await engine.write([{ group: 1, entries: range(1, 3, 1) }]);
    await expect(engine.write([{ group: 1, entries: range(5, 6, 1) }])).rejects.toThrow(InvalidLogWriteError);
    await expect(engine.write([{ group: 2, entries: range(2, 3, 1) }])).rejects.toThrow(/gap/);
    await expect(engine.write([{ group: 1, entries: [normal(4, 1), normal(6, 1)] }])).rejects.toThrow(
      /contiguous/,
    );
    await expect(engine.compact(1, { index: 9, term: 1, config })).rejects.toThrow(InvalidLogWriteError);
    await engine.write([{ group: 1, entries: range(4, 5, 1) }]);
    expect(engine.load(1).entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(engine.groups()).toEqual([1]);
    await engine.close();
    await expect(engine.write([])).rejects.toThrow(/closed/);
  });

  it("matches a model under random writes, truncations, snapshots, compactions and reopens", async () => {
    const dir = await tempDir();
    const random = prng(Number(process.env.SEED ?? 42)); // SEED=n npx vitest ... explores other runs
    const model = new Model();
    const options = { fsync: false, segmentBytes: 4096 };
    let engine = await RaftEngine.open(dir, options);
    let maxSegments = 0;
    for (let step = 0; step < 3000; step++) {
      const batch: GroupWrite[] = [];
      const lasts = new Map<number, number>(); // last index after the writes so far in this batch
      for (let k = 0; k < 1 + random(3); k++) {
        const group = random(8);
        const last = lasts.get(group) ?? model.last(group);
        const term = 1 + Math.floor(step / 100);
        const dice = random(20);
        if (dice === 0) {
          const index = last + random(5);
          batch.push({
            group,
            entries: range(index + 1, index + 1 + random(3), term),
            snapshot: { index, term, config },
          });
        } else if (dice < 4 && last > model.floor(group) && !batch.some((w) => w.group === group)) {
          const from = model.floor(group) + 1 + random(last - model.floor(group));
          batch.push({ group, entries: range(from, from + random(4), term) });
        } else {
          const data = new Uint8Array(random(200)).map(() => random(256));
          batch.push({ group, entries: [normal(last + 1, term, data)], hardState: hs(term, 1, last) });
        }
        lasts.set(group, lastOf(batch[batch.length - 1] as GroupWrite));
      }
      await engine.write(batch);
      model.write(batch);
      if (random(10) === 0) {
        const group = random(8);
        const index = model.floor(group) + random(model.last(group) - model.floor(group) + 1);
        {
          const meta = model.metaAt(group, index);
          await engine.compact(group, meta);
          model.compact(group, meta);
        }
      }
      maxSegments = Math.max(maxSegments, engine.stats().segments);
      if (step % 250 === 249) {
        expectSame(engine, model);
        await engine.close();
        engine = await RaftEngine.open(dir, options);
        expectSame(engine, model);
      }
    }
    // Segments were created and deleted all along: few of them remain.
    const { segments, activeSegment } = engine.stats();
    expect(activeSegment).toBeGreaterThan(100);
    expect(segments).toBeLessThan(30);
    expect(maxSegments).toBeLessThan(60);
    expect((await readdir(dir)).length).toBe(engine.stats().segments);
    await engine.close();
  });

  it("rolls segments and deletes them once every group has compacted past them", async () => {
    const dir = await tempDir();
    const options = { fsync: true, segmentBytes: 2048 };
    let engine = await RaftEngine.open(dir, options);
    const model = new Model();
    const data = new Uint8Array(100).fill(7);
    for (let i = 1; i <= 100; i++) {
      const batch = [0, 1, 2, 3].map((group) => ({
        group,
        entries: [normal(i, 1, data)],
        hardState: hs(1, 1, i - 1),
      }));
      await engine.write(batch);
      model.write(batch);
    }
    const before = await readdir(dir);
    expect(before.length).toBeGreaterThan(10);
    // Groups 0..2 compact everything; group 3 never compacts: its first segment stays.
    for (const group of [0, 1, 2]) {
      {
        const meta = model.metaAt(group, 100);
        await engine.compact(group, meta);
        model.compact(group, meta);
      }
    }
    expect(await readdir(dir)).toEqual(before);
    {
      const meta = model.metaAt(3, 60);
      await engine.compact(3, meta);
      model.compact(3, meta);
    }
    const after = await readdir(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(after).not.toContain("0000000001.rlog");
    expect(after[0]).toBe(before.find((f) => f === after[0]));
    expect(engine.stats().segments).toBe(after.length);
    await engine.close();

    engine = await RaftEngine.open(dir, options);
    expectSame(engine, model);
    expect(engine.load(3).entries.map((e) => e.index)).toEqual(range(61, 100, 1).map((e) => e.index));
    {
      const meta = model.metaAt(3, 100);
      await engine.compact(3, meta);
      model.compact(3, meta);
    }
    expect(await readdir(dir)).toEqual([after[after.length - 1]]);
    // The surviving segment's checkpoint carries the hard states of the groups.
    await engine.close();
    engine = await RaftEngine.open(dir, options);
    expectSame(engine, model);
    expect(engine.load(2).hardState).toEqual(hs(1, 1, 99));
    await engine.write([{ group: 2, entries: [normal(101, 2)] }]);
    expect(engine.load(2).entries).toEqual([normal(101, 2)]);
    await engine.close();
  });

  it("drops a group: forgotten across reopen, its segments freed, and it can start afresh", async () => {
    const dir = await tempDir();
    const options = { fsync: true, segmentBytes: 2048 };
    let engine = await RaftEngine.open(dir, options);
    const data = new Uint8Array(100).fill(7);
    for (let i = 1; i <= 60; i++) {
      await engine.write(
        [0, 1].map((group) => ({ group, entries: [normal(i, 1, data)], hardState: hs(1, 1, i - 1) })),
      );
    }
    await engine.compact(0, { index: 60, term: 1, config });
    const before = (await readdir(dir)).length;
    await engine.drop(1);
    expect(engine.groups()).toEqual([0]);
    expect((await readdir(dir)).length).toBeLessThan(before);
    await engine.close();
    engine = await RaftEngine.open(dir, options);
    expect(engine.groups()).toEqual([0]);
    expect(engine.load(1)).toEqual({ hardState: hs(0, 0, 0), snapshot: undefined, entries: [] });
    await engine.write([{ group: 1, entries: [normal(1, 3)], hardState: hs(3, 2, 0) }]);
    await engine.close();
    engine = await RaftEngine.open(dir, options);
    expect(engine.load(1)).toEqual({ hardState: hs(3, 2, 0), snapshot: undefined, entries: [normal(1, 3)] });
    await engine.close();
  });

  it("group commit: concurrent writes are serialized, each with exactly one fdatasync", async () => {
    const dir = await tempDir();
    let engine = await RaftEngine.open(dir, { fsync: true });
    const model = new Model();
    const batches: GroupWrite[][] = Array.from({ length: 50 }, (_, i) => [
      { group: i % 5, entries: [normal(Math.floor(i / 5) + 1, 1, new Uint8Array(1000).fill(i))] },
      { group: 9, entries: [normal(i + 1, 1)], hardState: hs(1, 9, i) },
    ]);
    await Promise.all(batches.map((b) => engine.write(b)));
    for (const b of batches) model.write(b);
    expect(engine.stats()).toMatchObject({ writes: 50, syncedWrites: 50 });
    expectSame(engine, model);
    await engine.close();
    engine = await RaftEngine.open(dir, { fsync: true });
    expectSame(engine, model);
    expect(engine.stats().tornBytesOnOpen).toBe(0);
    await engine.close();

    const unsynced = await RaftEngine.open(await tempDir(), { fsync: false });
    await Promise.all(batches.map((b) => unsynced.write(b)));
    expect(unsynced.stats()).toMatchObject({ writes: 50, syncedWrites: 0 });
    await unsynced.close();
  });

  it("refuses a directory that holds something else, and leaves it untouched", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "notes.txt"), "my notes");
    await expect(RaftEngine.open(dir, { fsync: true })).rejects.toThrow(NotARaftLogError);
    await expect(RaftEngine.open(dir, { fsync: true })).rejects.toThrow(/contains "notes\.txt"/);
    expect(await readFile(join(dir, "notes.txt"), "utf8")).toBe("my notes");

    const sub = await tempDir();
    await mkdir(join(sub, "0000000001.rlog"));
    await expect(RaftEngine.open(sub, { fsync: true })).rejects.toThrow(NotARaftLogError);

    // Named like a segment but not one (another program's file, or another format).
    const impostor = await tempDir();
    const text = "this is a text file that happens to have our name\n".repeat(4);
    await writeFile(join(impostor, "0000000001.rlog"), text);
    await expect(RaftEngine.open(impostor, { fsync: true })).rejects.toThrow(
      /0000000001\.rlog is not a tinyo raft log/,
    );
    expect(await readFile(join(impostor, "0000000001.rlog"), "utf8")).toBe(text);
  });
});

function lastOf(w: GroupWrite): number {
  return w.entries[w.entries.length - 1]?.index ?? w.snapshot?.index ?? 0;
}
