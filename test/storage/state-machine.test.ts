import { describe, expect, it } from "vitest";
import { partitionId } from "../../src/node/ids.js";
import { type Command, encodeCommand } from "../../src/node/storage/commands.js";
import { InvalidCallError, StateMachineClosedError } from "../../src/node/storage/state-machine-errors.js";
import { parseSnapshotChunk } from "../../src/node/storage/state-machine-snapshot.js";
import {
  applyAll,
  cleanUpAfterEach,
  collect,
  del,
  openSm,
  P1,
  P2,
  P256,
  PMAX,
  put,
  reopen,
  rid,
  scanAll,
  str,
  tempDir,
  text,
} from "./state-machine-harness.js";

cleanUpAfterEach();

describe("StateMachine: apply, get, scan", () => {
  it("keeps partitions apart: the same keys in several partitions never leak", async () => {
    const sm = await openSm(await tempDir());
    for (const p of [P1, P2, P256, PMAX]) {
      await applyAll(sm, p, [put("a", `a@${p}`), put("b", `b@${p}`), put(`only${p}`, "x")]);
    }
    for (const p of [P1, P2, P256, PMAX]) {
      expect(str(await sm.get(p, text("a")))).toBe(`a@${p}`);
      expect(await scanAll(sm, p)).toEqual({ a: `a@${p}`, b: `b@${p}`, [`only${p}`]: "x" });
    }
    expect(await sm.get(partitionId(3), text("a"))).toBeUndefined();
    expect(await scanAll(sm, partitionId(3))).toEqual({});
    expect(sm.partitions()).toEqual([P1, P2, P256, PMAX]);
  });

  it("applies puts and deletes in entry order, and no-ops advance the applied index", async () => {
    const sm = await openSm(await tempDir());
    const outcomes = await applyAll(sm, P1, [
      put("k", "1"),
      undefined,
      put("k", "2"),
      del("gone"),
      put("x", ""),
    ]);
    expect(outcomes.map((o) => o.kind)).toEqual(["applied", "noop", "applied", "applied", "applied"]);
    expect(sm.appliedIndex(P1)).toBe(5);
    await applyAll(sm, P1, [del("x"), put("k", "3"), del("k")]);
    expect(await scanAll(sm, P1)).toEqual({});
    await applyAll(sm, P1, [put("empty", "")]);
    expect(await sm.get(P1, text("empty"))).toEqual(new Uint8Array(0));
    expect(sm.appliedIndex(P1)).toBe(9);
  });

  it("scans by range and by prefix, with limits and `more`", async () => {
    const sm = await openSm(await tempDir());
    const keys = ["a", "b/1", "b/2", "b/3", "c", "d"];
    await applyAll(
      sm,
      P1,
      keys.map((k) => put(k, k.toUpperCase())),
    );
    await applyAll(sm, P2, [put("b/0", "other partition"), put("b/9", "other")]);
    const keysOf = (r: { entries: { key: Uint8Array }[] }) => r.entries.map((e) => str(e.key));

    expect(keysOf(await sm.scan(P1, { start: text("b"), end: text("c") }, 10))).toEqual([
      "b/1",
      "b/2",
      "b/3",
    ]);
    expect(keysOf(await sm.scan(P1, { start: text("b/2") }, 10))).toEqual(["b/2", "b/3", "c", "d"]);
    expect(keysOf(await sm.scan(P1, { end: text("b/2") }, 10))).toEqual(["a", "b/1"]);
    expect(keysOf(await sm.scan(P1, { start: text("c"), end: text("b") }, 10))).toEqual([]);
    expect(keysOf(await sm.scan(P1, { prefix: text("b/") }, 10))).toEqual(["b/1", "b/2", "b/3"]);
    expect(keysOf(await sm.scan(P1, { prefix: text("zz") }, 10))).toEqual([]);

    const page1 = await sm.scan(P1, { prefix: text("b/") }, 2);
    expect(keysOf(page1)).toEqual(["b/1", "b/2"]);
    expect(page1.more).toBe(true);
    const page2 = await sm.scan(P1, { start: text("b/2\0"), end: text("b0") }, 2);
    expect(keysOf(page2)).toEqual(["b/3"]);
    expect(page2.more).toBe(false);
    const exact = await sm.scan(P1, {}, 6);
    expect(exact.entries).toHaveLength(6);
    expect(exact.more).toBe(false);
    expect(str(exact.entries[0]?.value)).toBe("A");
    await expect(sm.scan(P1, {}, 0)).rejects.toThrow(InvalidCallError);
  });

  it("scans binary prefixes up to the end of the partition", async () => {
    const sm = await openSm(await tempDir());
    const k = (...b: number[]) => Uint8Array.from(b);
    const cmds: Command[] = [k(0xff), k(0xff, 0xff), k(0xff, 0xff, 0), k(0xfe, 0xff), k(0)].map((key) => ({
      type: "put",
      key,
      value: key,
    }));
    await sm.apply(
      PMAX,
      cmds.map((c, i) => ({ index: i + 1, data: encodeCommand(c) })),
    );
    const r = await sm.scan(PMAX, { prefix: k(0xff, 0xff) }, 10);
    expect(r.entries.map((e) => [...e.key])).toEqual([
      [0xff, 0xff],
      [0xff, 0xff, 0],
    ]);
    expect((await sm.scan(PMAX, { prefix: k(0xfe) }, 10)).entries.map((e) => [...e.key])).toEqual([
      [0xfe, 0xff],
    ]);
    expect((await sm.scan(PMAX, { prefix: new Uint8Array(0) }, 10)).entries).toHaveLength(5);
  });

  it("refuses entries that do not continue the applied index, writing nothing", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1")]);
    const data = encodeCommand(put("b", "2"));
    await expect(sm.apply(P1, [{ index: 3, data }])).rejects.toThrow(/has index 3, expected 2/);
    await expect(sm.apply(P1, [{ index: 1, data }])).rejects.toThrow(InvalidCallError);
    await expect(
      sm.apply(P1, [
        { index: 2, data },
        { index: 4, data },
      ]),
    ).rejects.toThrow(/entry 1 of the apply has index 4, expected 3/);
    expect(sm.appliedIndex(P1)).toBe(1);
    expect(await sm.get(P1, text("b"))).toBeUndefined();
  });

  it("skips a malformed entry on every replica alike, advancing the applied index", async () => {
    const sm = await openSm(await tempDir());
    const outcomes = await sm.apply(P1, [
      { index: 1, data: Uint8Array.of(42, 1, 2) },
      { index: 2, data: encodeCommand(put("ok", "1")) },
    ]);
    expect(outcomes[0]).toMatchObject({
      kind: "rejected",
      reason: expect.stringMatching(/at least 19 bytes/),
    });
    expect(outcomes[1]?.kind).toBe("applied");
    expect(sm.appliedIndex(P1)).toBe(2);
  });

  it("runs a partition's applies in call order, even when not awaited", async () => {
    const sm = await openSm(await tempDir());
    const calls = Array.from({ length: 20 }, (_, i) =>
      sm.apply(P1, [{ index: i + 1, data: encodeCommand(put("k", String(i))) }]),
    );
    await Promise.all(calls);
    expect(str(await sm.get(P1, text("k")))).toBe("19");
    expect(sm.appliedIndex(P1)).toBe(20);
  });

  it("applies several partitions' batches together, each as its own apply would", async () => {
    const sm = await openSm(await tempDir());
    const id = rid(7);
    const entries = (from: number, commands: Command[]) =>
      commands.map((c, i) => ({ index: from + i, data: encodeCommand(c) }));
    await applyAll(sm, P2, [put("before", "x")]);
    // Queued behind a single-partition apply that is not awaited: order is kept per partition.
    const single = sm.apply(P1, entries(1, [put("k", "0")]));
    const outcomes = await sm.applyBatch([
      { partition: P1, entries: entries(2, [put("k", "1"), put("r", "once", id), put("r", "twice", id)]) },
      { partition: P2, entries: [] },
      { partition: P256, entries: entries(1, [put("r", "other partition", id), del("none")]) },
    ]);
    await single;
    expect(outcomes.map((o) => o.map((x) => x.kind))).toEqual([
      ["applied", "applied", "duplicate"],
      [],
      ["applied", "applied"],
    ]);
    expect(await scanAll(sm, P1)).toEqual({ k: "1", r: "once" });
    expect(await scanAll(sm, P2)).toEqual({ before: "x" });
    expect(await scanAll(sm, P256)).toEqual({ r: "other partition" });
    expect([sm.appliedIndex(P1), sm.appliedIndex(P2), sm.appliedIndex(P256)]).toEqual([4, 1, 2]);
    // A batch that breaks one partition's order writes nothing for any partition.
    await expect(
      sm.applyBatch([
        { partition: P1, entries: entries(5, [put("k", "2")]) },
        { partition: P256, entries: entries(9, [put("k", "gap")]) },
      ]),
    ).rejects.toThrow(InvalidCallError);
    expect(str(await sm.get(P1, text("k")))).toBe("1");
    await expect(
      sm.applyBatch([
        { partition: P1, entries: entries(5, [put("k", "2")]) },
        { partition: P1, entries: entries(6, [put("k", "3")]) },
      ]),
    ).rejects.toThrow(/at most one batch per partition/);
  });
});

describe("StateMachine: gets of one turn share a read batch", () => {
  it("answers each of many concurrent gets with its own key's value, across partitions", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(
      sm,
      P1,
      Array.from({ length: 50 }, (_, i) => put(`k${i}`, `p1-${i}`)),
    );
    await applyAll(
      sm,
      P2,
      Array.from({ length: 50 }, (_, i) => put(`k${i}`, `p2-${i}`)),
    );
    const asked = Array.from({ length: 150 }, (_, i) => ({
      partition: i % 2 === 0 ? P1 : P2,
      key: `k${i % 75}`,
    }));
    const got = await Promise.all(asked.map(({ partition, key }) => sm.get(partition, text(key))));
    got.forEach((value, i) => {
      const { partition, key } = asked[i] as (typeof asked)[number];
      const n = Number(key.slice(1));
      expect(str(value), `${key} in ${partition}`).toBe(
        n < 50 ? `${partition === P1 ? "p1" : "p2"}-${n}` : undefined,
      );
    });
    // A get of a later turn sees a write applied in between.
    await applyAll(sm, P1, [put("k0", "new")]);
    expect(str(await sm.get(P1, text("k0")))).toBe("new");
  });
});

describe("StateMachine: applied index and restarts", () => {
  it("stores the applied index with the data, and keeps both across a reopen", async () => {
    let sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1"), put("b", "2")]);
    await applyAll(sm, P2, [undefined, undefined, put("c", "3")]);
    expect(sm.appliedIndex(P1)).toBe(2);
    expect(sm.appliedIndex(P2)).toBe(3);
    expect(sm.appliedIndex(P256)).toBe(0);
    sm = await reopen(sm);
    expect(sm.appliedIndex(P1)).toBe(2);
    expect(sm.appliedIndex(P2)).toBe(3);
    expect(sm.partitions()).toEqual([P1, P2]);
    expect(await scanAll(sm, P1)).toEqual({ a: "1", b: "2" });
    expect(str(await sm.get(P2, text("c")))).toBe("3");
    await applyAll(sm, P1, [put("a", "10")]);
    expect(sm.appliedIndex(P1)).toBe(3);
  });

  it("flush returns the applied indexes it made durable", async () => {
    const sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1"), put("b", "2")]);
    await applyAll(sm, P256, [put("c", "3")]);
    expect(await sm.flush()).toEqual(
      new Map([
        [P1, 2],
        [P256, 1],
      ]),
    );
  });

  it("deletes a partition without touching the others", async () => {
    let sm = await openSm(await tempDir());
    await applyAll(sm, P1, [put("a", "1", rid(1))]);
    await applyAll(sm, P2, [put("a", "2")]);
    await sm.deletePartition(P1);
    expect(sm.appliedIndex(P1)).toBe(0);
    sm = await reopen(sm);
    expect(sm.partitions()).toEqual([P2]);
    expect(await scanAll(sm, P1)).toEqual({});
    // The dedup records went too: the request applies again from index 1.
    expect((await applyAll(sm, P1, [put("a", "1", rid(1))]))[0]?.kind).toBe("applied");
    expect(str(await sm.get(P2, text("a")))).toBe("2");
  });

  it("refuses calls after close", async () => {
    const sm = await openSm(await tempDir());
    await sm.close();
    await expect(sm.get(P1, text("a"))).rejects.toThrow(StateMachineClosedError);
    await expect(applyAll(sm, P1, [put("a", "1")])).rejects.toThrow(/is closed/);
  });
});

describe("StateMachine: exactly once", () => {
  it("applies a request id once, within a batch, across batches and across a reopen", async () => {
    let sm = await openSm(await tempDir());
    const first = await applyAll(sm, P1, [put("k", "first", rid(1)), put("k", "again", rid(1))]);
    expect(first.map((o) => o.kind)).toEqual(["applied", "duplicate"]);
    await applyAll(sm, P1, [put("k", "second", rid(2))]);
    const retry = await applyAll(sm, P1, [put("k", "first", rid(1))]);
    expect(retry[0]).toMatchObject({ kind: "duplicate", appliedAt: 1 });
    expect(str(await sm.get(P1, text("k")))).toBe("second");

    sm = await reopen(sm);
    const afterReopen = await applyAll(sm, P1, [put("k", "first", rid(1)), del("k", rid(2))]);
    expect(afterReopen.map((o) => o.kind)).toEqual(["duplicate", "duplicate"]);
    expect(str(await sm.get(P1, text("k")))).toBe("second");
    expect(sm.appliedIndex(P1)).toBe(6);
    // Request ids are per partition; writes without one are never deduplicated.
    expect((await applyAll(sm, P2, [put("k", "p2", rid(1))]))[0]?.kind).toBe("applied");
    const noId = await applyAll(sm, P1, [put("n", "1"), put("n", "2")]);
    expect(noId.map((o) => o.kind)).toEqual(["applied", "applied"]);
  });

  it("forgets a request id once `dedupWindow` entries have passed, and keeps the records bounded", async () => {
    const window = 10;
    const sm = await openSm(await tempDir(), { dedupWindow: window });
    await applyAll(sm, P1, [put("k", "v", rid(1))]); // index 1
    await applyAll(
      sm,
      P1,
      Array.from({ length: 8 }, () => undefined),
    ); // up to 9
    expect((await applyAll(sm, P1, [put("k", "dup", rid(1))]))[0]?.kind).toBe("duplicate"); // 10: 10 - 1 < 10
    expect((await applyAll(sm, P1, [put("k", "new", rid(1))]))[0]?.kind).toBe("applied"); // 11: expired
    expect((await applyAll(sm, P1, [put("k", "dup", rid(1))]))[0]?.kind).toBe("duplicate"); // recorded at 11
    expect(str(await sm.get(P1, text("k")))).toBe("new");

    // 5,000 more writes with fresh ids: the stored records stay within twice the window.
    for (let batch = 0; batch < 50; batch++) {
      await applyAll(
        sm,
        P1,
        Array.from({ length: 100 }, (_, i) => put(`w${i}`, "v", rid(1000 + batch * 100 + i))),
      );
    }
    const snapshot = await sm.snapshot(P1);
    const records = (await collect(snapshot)).flatMap(parseSnapshotChunk);
    const dedupRecords = records.filter((r) => r.key[0] === 0x01).length;
    // Generations of `window` entries: the current one and the one before are kept.
    expect(dedupRecords).toBeGreaterThanOrEqual(window);
    expect(dedupRecords).toBeLessThanOrEqual(2 * window);
    // The newest ids are still recognized after the sweeps.
    const last = await applyAll(sm, P1, [put("w99", "again", rid(1000 + 49 * 100 + 99))]);
    expect(last[0]?.kind).toBe("duplicate");
  });
});

describe("StateMachine: exactly once after a snapshot install", () => {
  it("recognizes a retry of a request that only the installed snapshot records", async () => {
    const source = await openSm(await tempDir());
    await applyAll(source, P1, [put("k", "first", rid(1)), put("k", "second", rid(2))]);
    const target = await openSm(await tempDir());
    // The target knows other requests of the partition from its own applies, before the install.
    await applyAll(target, P1, [put("x", "1", rid(3))]);
    const snapshot = await source.snapshot(P1);
    await target.installSnapshot(P1, snapshot.appliedIndex, await collect(snapshot));
    const retry = await applyAll(target, P1, [put("k", "first", rid(1)), put("y", "new", rid(3))]);
    expect(retry.map((o) => o.kind)).toEqual(["duplicate", "applied"]);
    expect(str(await target.get(P1, text("k")))).toBe("second");
  });
});

describe("StateMachine: exactly once against a model", () => {
  it("decides like the rule 'a duplicate iff applied fewer than window entries ago', across reopens", async () => {
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const window = 7;
    let sm = await openSm(await tempDir(), { dedupWindow: window });
    const lastApplied = new Map<number, number>(); // request -> index of its last application
    let index = 0;
    for (let round = 0; round < 150; round++) {
      const size = 1 + random(round % 10 === 0 ? 25 : 6); // some batches longer than the window
      const commands = Array.from({ length: size }, () =>
        random(5) === 0 ? undefined : put(`k${random(4)}`, String(round), rid(1 + random(12))),
      );
      const outcomes = await applyAll(sm, P1, commands);
      commands.forEach((command, i) => {
        index++;
        if (command === undefined) {
          expect(outcomes[i]?.kind).toBe("noop");
          return;
        }
        const request = new DataView(command.requestId?.buffer ?? new ArrayBuffer(16)).getUint32(12);
        const previous = lastApplied.get(request);
        const duplicate = previous !== undefined && index - previous < window;
        expect(outcomes[i]?.kind, `entry ${index}`).toBe(duplicate ? "duplicate" : "applied");
        if (!duplicate) lastApplied.set(request, index);
      });
      if (random(10) === 0) sm = await reopen(sm, { dedupWindow: window });
    }
    const snapshot = await sm.snapshot(P1);
    const records = (await collect(snapshot)).flatMap(parseSnapshotChunk).filter((r) => r.key[0] === 0x01);
    expect(records.length).toBeLessThanOrEqual(2 * window);
  });
});
