import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { Entry, HardState } from "../../src/node/raft/types.js";
import {
  NotARaftLogError,
  RaftEngineFailedError,
  RaftLogCorruptError,
} from "../../src/node/storage/log-errors.js";
import { type GroupWrite, RaftEngine } from "../../src/node/storage/raft-engine.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tinyo-raft-recovery-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const normal = (index: number, term: number, size = 24): Entry => ({
  type: "normal",
  index,
  term,
  data: new Uint8Array(size).map((_, i) => (index * 31 + i) & 255),
});
const hs = (term: number, commit: number): HardState => ({ term, vote: nodeId(1), commit });

/** Batch i appends entry i to groups 0..2 (and a hard state); its effect is easy to state. */
const batch = (i: number): GroupWrite[] =>
  [0, 1, 2].map((group) => ({ group, entries: [normal(i, 1)], hardState: hs(1, i - 1) }));

/** After batches 1..n: what every group must load. */
function expectBatches(engine: RaftEngine, n: number): void {
  expect(engine.groups()).toEqual(n === 0 ? [] : [0, 1, 2]);
  for (const group of n === 0 ? [] : [0, 1, 2]) {
    expect(engine.load(group)).toEqual({
      hardState: hs(1, n - 1),
      snapshot: undefined,
      entries: Array.from({ length: n }, (_, i) => normal(i + 1, 1)),
    });
  }
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort().map((f) => join(dir, f));
}

/** Deterministic garbage: random-looking bytes, or zeros (a file extended but never written). */
function garbage(seed: number): Uint8Array {
  const length = (seed * 7919) % 97;
  if (seed % 5 === 0) return new Uint8Array(length);
  return new Uint8Array(length).map((_, i) => (seed * 131 + i * 197 + ((i * i) >> 3)) & 255);
}

describe("RaftEngine recovery", () => {
  it("cuts a torn last batch at every byte offset, keeps all before it, and writes on afterwards", async () => {
    const dir = await tempDir();
    const engine = await RaftEngine.open(dir, { fsync: false });
    for (let i = 1; i <= 20; i++) await engine.write(batch(i));
    const [file] = await segmentFiles(dir);
    const before = (await readFile(file as string)).length;
    await engine.write(batch(21));
    await engine.close();
    const full = await readFile(file as string);
    expect(full.length).toBeGreaterThan(before + 100);

    for (let cut = before; cut <= full.length; cut++) {
      const tail = garbage(cut);
      const torn = Buffer.concat([full.subarray(0, cut), tail]);
      await writeFile(file as string, torn);
      const reopened = await RaftEngine.open(dir, { fsync: false });
      // Zeros may happen to restore the batch's last bytes (high halves of u64s are zero).
      const survived = torn.subarray(0, full.length).equals(full) ? 21 : 20;
      expectBatches(reopened, survived);
      const kept = survived === 21 ? full.length : before;
      expect(reopened.stats().tornBytesOnOpen).toBe(torn.length - kept);
      expect((await readFile(file as string)).length).toBe(kept);
      if (cut % 13 === 0 || cut === full.length) {
        await reopened.write(batch(survived + 1));
        await reopened.close();
        const again = await RaftEngine.open(dir, { fsync: false });
        expectBatches(again, survived + 1);
        expect(again.stats().tornBytesOnOpen).toBe(0);
        await again.close();
      } else {
        await reopened.close();
      }
    }
  });

  it("removes a segment whose creation was torn, and the next write creates it afresh", async () => {
    const dir = await tempDir();
    const options = { fsync: true, segmentBytes: 1024 };
    const engine = await RaftEngine.open(dir, options);
    let n = 0;
    while (engine.stats().segments < 3) await engine.write(batch(++n));
    await engine.close();
    // The last write created the third segment: header, checkpoint, then the batch.
    const files = await segmentFiles(dir);
    const last = files[2] as string;
    const full = await readFile(last);
    const previous = await Promise.all(files.slice(0, 2).map((f) => readFile(f)));
    const cuts = [0, 3, 15, 16, 17, 40, full.length - 60, full.length - 1];
    for (const cut of cuts) {
      await writeFile(last, full.subarray(0, cut));
      const reopened = await RaftEngine.open(dir, options);
      expectBatches(reopened, n - 1);
      await reopened.write(batch(n));
      await reopened.close();
      const again = await RaftEngine.open(dir, options);
      expectBatches(again, n);
      await again.close();
      // The earlier segments were never touched.
      for (const [i, f] of files.slice(0, 2).entries())
        expect((await readFile(f)).equals(previous[i] as Buffer)).toBe(true);
      expect(await segmentFiles(dir)).toEqual(files);
    }
  });

  it("refuses to open when a segment other than the last is corrupt, naming file and offset", async () => {
    const dir = await tempDir();
    const engine = await RaftEngine.open(dir, { fsync: false, segmentBytes: 1024 });
    let n = 0;
    while (engine.stats().segments < 4) await engine.write(batch(++n));
    await engine.close();
    const files = await segmentFiles(dir);
    const victim = files[1] as string;
    const original = await readFile(victim);
    const damaged = Buffer.from(original);
    const at = Math.floor(original.length / 2);
    damaged[at] = (damaged[at] as number) ^ 0x40;
    await writeFile(victim, damaged);
    const failure = RaftEngine.open(dir, { fsync: false, segmentBytes: 1024 });
    await expect(failure).rejects.toThrow(RaftLogCorruptError);
    await expect(failure).rejects.toThrow(/0000000002\.rlog is corrupt at offset \d+ \(checksum mismatch\)/);
    expect((await readFile(victim)).equals(damaged)).toBe(true);

    // A segment cut short (not the last one) is corruption too, not a torn tail.
    await writeFile(victim, original.subarray(0, original.length - 10));
    await expect(RaftEngine.open(dir, { fsync: false })).rejects.toThrow(
      /0000000002\.rlog is corrupt at offset/,
    );

    // A damaged header of an earlier segment, and a missing segment.
    const header = Buffer.from(original);
    header[0] = 0x21;
    await writeFile(victim, header);
    await expect(RaftEngine.open(dir, { fsync: false })).rejects.toThrow(NotARaftLogError);
    await unlink(victim);
    await expect(RaftEngine.open(dir, { fsync: false })).rejects.toThrow(/0000000002\.rlog .*missing/);

    // Restored, everything is there.
    await writeFile(victim, original);
    const reopened = await RaftEngine.open(dir, { fsync: false });
    expectBatches(reopened, n);
    await reopened.close();
  });

  it("fails every call after a failed write, and recovers on reopen", async () => {
    const dir = await tempDir();
    const options = { fsync: true, segmentBytes: 1024 };
    const engine = await RaftEngine.open(dir, options);
    let n = 0;
    while (engine.stats().segments < 2) await engine.write(batch(++n));
    // Something else takes the next segment's name: the write that rolls cannot create it.
    const stray = join(dir, "0000000003.rlog");
    await mkdir(stray);
    let failed: unknown;
    while (failed === undefined) {
      await engine.write(batch(n + 1)).then(
        () => n++,
        (err: unknown) => {
          failed = err;
        },
      );
    }
    expect(String(failed)).toMatch(/EEXIST/);
    await expect(engine.write(batch(n + 1))).rejects.toThrow(RaftEngineFailedError);
    await expect(
      engine.compact(0, { index: 1, term: 1, config: { voters: [nodeId(1)], learners: [] } }),
    ).rejects.toThrow(/failed earlier: .*EEXIST/);
    await engine.close();
    await rmdir(stray);
    const reopened = await RaftEngine.open(dir, options);
    expectBatches(reopened, n);
    await reopened.write(batch(n + 1));
    expectBatches(reopened, n + 1);
    await reopened.close();
  });
});
