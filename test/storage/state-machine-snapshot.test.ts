import RocksDB from "rocksdb-native";
import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { PartitionSnapshot } from "../../src/node/storage/state-machine.js";
import { SnapshotFormatError } from "../../src/node/storage/state-machine-errors.js";
import { dataKey, installingKey } from "../../src/node/storage/state-machine-keys.js";
import { parseSnapshotChunk } from "../../src/node/storage/state-machine-snapshot.js";
import {
  applyAll,
  cleanUpAfterEach,
  collect,
  del,
  openSm,
  P1,
  P2,
  put,
  reopen,
  rid,
  scanAll,
  str,
  tempDir,
  text,
} from "./state-machine-harness.js";

cleanUpAfterEach();

describe("StateMachine: snapshots", () => {
  it("snapshots a partition exactly at its applied index while applies continue, and installs it elsewhere", async () => {
    const source = await openSm(await tempDir());
    await applyAll(source, P1, [put("a", "1", rid(1)), put("b", "2"), put("c", "3"), del("b")]);
    await applyAll(source, P2, [put("a", "p2")]);
    // Applies already under way when the snapshot is taken, and more after.
    const inFlight = applyAll(source, P1, [put("a", "changed"), put("d", "4")]);
    const snapshot = await source.snapshot(P1);
    await inFlight;
    await applyAll(source, P1, [del("c"), put("e", "5", rid(2))]);
    const expected = snapshot.appliedIndex === 4 ? { a: "1", c: "3" } : { a: "changed", c: "3", d: "4" };
    expect([4, 6]).toContain(snapshot.appliedIndex);
    const chunks = await collect(snapshot);

    const target = await openSm(await tempDir());
    await applyAll(target, P1, [put("old", "x"), put("a", "old"), put("zz", "y", rid(3))]);
    await applyAll(target, P2, [put("keep", "me")]);
    await target.installSnapshot(P1, snapshot.appliedIndex, chunks);
    expect(target.appliedIndex(P1)).toBe(snapshot.appliedIndex);
    expect(await scanAll(target, P1)).toEqual(expected);
    expect(await scanAll(target, P2)).toEqual({ keep: "me" });

    // The dedup records came along (rid 1) and the old ones went (rid 3).
    const reopened = await reopen(target);
    expect(reopened.appliedIndex(P1)).toBe(snapshot.appliedIndex);
    const after = await applyAll(reopened, P1, [put("a", "retry", rid(1)), put("zz", "y", rid(3))]);
    expect(after.map((o) => o.kind)).toEqual(["duplicate", "applied"]);
    expect(await scanAll(reopened, P2)).toEqual({ keep: "me" });
  });

  it("every snapshot taken amid a stream of applies holds exactly the state at its applied index", async () => {
    const sm = await openSm(await tempDir());
    const history = new Map<number, Record<string, string>>([[0, {}]]);
    const state: Record<string, string> = {};
    let index = 0;
    let done = false;
    const writer = (async () => {
      for (let batch = 0; batch < 200; batch++) {
        const commands = Array.from({ length: 5 }, (_, i) => {
          const key = `k${(batch * 7 + i * 3) % 11}`;
          return (batch + i) % 4 === 0 ? del(key) : put(key, `${batch}.${i}`);
        });
        await applyAll(sm, P1, commands);
        for (const c of commands) {
          index++;
          if (c.type === "put") state[str(c.key) ?? ""] = str(c.value) ?? "";
          else delete state[str(c.key) ?? ""];
          history.set(index, { ...state });
        }
      }
      done = true;
    })();
    const snapshots: PartitionSnapshot[] = [];
    while (!done) {
      snapshots.push(await sm.snapshot(P1));
      await new Promise((resolve) => setTimeout(resolve, snapshots.length % 3));
    }
    await writer;
    expect(snapshots.length).toBeGreaterThan(5);
    expect(new Set(snapshots.map((s) => s.appliedIndex)).size).toBeGreaterThan(3);
    for (const snapshot of snapshots) {
      expect(snapshot.appliedIndex % 5).toBe(0); // whole batches only
      const records = (await collect(snapshot)).flatMap(parseSnapshotChunk);
      const contents = Object.fromEntries(records.map((r) => [str(r.key.subarray(1)), str(r.value)]));
      expect(contents, `snapshot at ${snapshot.appliedIndex}`).toEqual(history.get(snapshot.appliedIndex));
    }
  });

  it("the snapshot holds the state at its applied index, not later applies", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1"), put("b", "2")]);
    const snapshot = await sm.snapshot(P1);
    await applyAll(sm, P1, [put("a", "later"), del("b"), put("c", "new")]);
    expect(snapshot.appliedIndex).toBe(2);
    const records = (await collect(snapshot)).flatMap(parseSnapshotChunk);
    expect(records.map((r) => [str(r.key.subarray(1)), str(r.value)])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    expect(() => snapshot.chunks()).toThrow(/already read or closed/);
  });

  it("splits a snapshot into chunks of at most chunkBytes, and installs many chunks", async () => {
    const source = await openSm(await tempDir());
    const value = "v".repeat(100_000);
    const commands = Array.from({ length: 60 }, (_, i) => put(`k${String(i).padStart(3, "0")}`, value));
    await applyAll(source, P1, commands);
    const chunkBytes = 1_100_000;
    const snapshot = await source.snapshot(P1, { chunkBytes });
    const chunks = await collect(snapshot);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(chunkBytes);
    await expect(source.snapshot(P1, { chunkBytes: 1000 })).rejects.toThrow(/chunkBytes must be at least/);

    const target = await openSm(await tempDir());
    async function* stream() {
      yield* chunks;
    }
    await target.installSnapshot(P1, snapshot.appliedIndex, stream());
    const { entries } = await target.scan(P1, {}, 100);
    expect(entries).toHaveLength(60);
    expect(target.appliedIndex(P1)).toBe(60);
  });

  it("installs a snapshot too large for one batch, leaving other partitions alone", async () => {
    const source = await openSm(await tempDir());
    const value = "x".repeat(1_000_000);
    for (let i = 0; i < 40; i += 10) {
      await applyAll(
        source,
        P1,
        Array.from({ length: 10 }, (_, k) => put(`big${i + k}`, value)),
      );
    }
    const snapshot = await source.snapshot(P1);
    const chunks = await collect(snapshot);
    const target = await openSm(await tempDir());
    await applyAll(target, P1, [put("stale", "1")]);
    await applyAll(target, P2, [put("keep", "1")]);
    await target.installSnapshot(P1, 40, chunks);
    const { entries } = await target.scan(P1, {}, 100);
    expect(entries.map((e) => str(e.key))).not.toContain("stale");
    expect(entries).toHaveLength(40);
    const reopened = await reopen(target);
    expect(reopened.appliedIndex(P1)).toBe(40);
    expect(reopened.interruptedInstalls).toEqual([]);
    expect(await scanAll(reopened, P2)).toEqual({ keep: "1" });
  });

  it("wipes a partition whose install a crash interrupted, at the next open", async () => {
    const dir = await tempDir();
    const sm = await openSm(dir);
    await applyAll(sm, P1, [put("a", "1")]);
    await applyAll(sm, P2, [put("b", "2")]);
    await sm.close();
    // What a crash in the middle of a multi-batch install leaves: the marker, partial records, no applied index.
    const raw = new RocksDB(dir);
    await raw.ready();
    const batch = raw.write();
    batch.tryPut(installingKey(P1), new Uint8Array(0));
    batch.tryPut(dataKey(P1, text("partial")), text("x"));
    await batch.flush();
    batch.destroy();
    await raw.close();

    const reopened = await openSm(dir);
    expect(reopened.interruptedInstalls).toEqual([P1]);
    expect(reopened.appliedIndex(P1)).toBe(0);
    expect(await scanAll(reopened, P1)).toEqual({});
    expect(await scanAll(reopened, P2)).toEqual({ b: "2" });
    expect((await reopen(reopened)).interruptedInstalls).toEqual([]);
  });

  it("keeps the Raft meta an install came with, across a reopen, until the next apply", async () => {
    const source = await openSm(await tempDir());
    await applyAll(source, P1, [put("a", "1"), put("b", "2"), put("c", "3")]);
    const chunks = await collect(await source.snapshot(P1));
    const target = await openSm(await tempDir());
    const meta = { index: 3, term: 7, config: { voters: [1, 2, 3].map(nodeId), learners: [nodeId(4)] } };
    await expect(target.installSnapshot(P1, 4, chunks, meta)).rejects.toThrow(/at index 3/);
    await target.installSnapshot(P1, 3, chunks, meta);
    expect(await target.installedSnapshotMeta(P1)).toEqual(meta);
    expect(await target.installedSnapshotMeta(P2)).toBeUndefined();
    const reopened = await reopen(target);
    expect(reopened.appliedIndex(P1)).toBe(3);
    expect(await reopened.installedSnapshotMeta(P1)).toEqual(meta);
    // A snapshot taken from the installed partition reads its applied index past the meta.
    expect((await reopened.snapshot(P1)).appliedIndex).toBe(3);
    await applyAll(reopened, P1, [put("d", "4")]);
    expect(await reopened.installedSnapshotMeta(P1)).toBeUndefined();
    expect(reopened.appliedIndex(P1)).toBe(4);
    expect(await scanAll(reopened, P1)).toEqual({ a: "1", b: "2", c: "3", d: "4" });
  });

  it("refuses damaged chunks and keeps the partition as it was", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1")]);
    await expect(sm.installSnapshot(P1, 9, [Uint8Array.of(7)])).rejects.toThrow(SnapshotFormatError);
    await expect(sm.installSnapshot(P1, 9, [Uint8Array.of(1, 0, 0, 0, 9, 3)])).rejects.toThrow(/truncated/);
    const badTag = Uint8Array.of(1, 0, 0, 0, 2, 0x00, 1, 0, 0, 0, 0);
    await expect(sm.installSnapshot(P1, 9, [badTag])).rejects.toThrow(
      /neither a dedup record nor a user key/,
    );
    expect(sm.appliedIndex(P1)).toBe(1);
    expect(await scanAll(sm, P1)).toEqual({ a: "1" });
  });

  it("releases an unread snapshot on close", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1")]);
    await sm.snapshot(P1);
    const reading = await sm.snapshot(P1, { chunkBytes: 2_000_000 });
    const iterator = reading.chunks();
    await iterator.next();
    await sm.close(); // would hang if a snapshot or iterator were still held
  });
});
