import { describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import { DelayLine } from "../../src/node/transport/delay-line.js";
import { estimateSize, MessageQueue } from "../../src/node/transport/message-queue.js";
import type { GroupMessage } from "../../src/node/transport/raft-fields.js";
import { append, group, heartbeat, seqs, sleep } from "./harness.js";

const a = nodeId(1);
const b = nodeId(2);
const hbs = (from: number, to: number): GroupMessage[] =>
  Array.from({ length: to - from }, (_, i) => heartbeat(a, b, from + i));

describe("MessageQueue", () => {
  it("is a FIFO that drops the oldest beyond its message bound", () => {
    const q = new MessageQueue(100, Number.MAX_SAFE_INTEGER);
    expect(q.push(hbs(0, 60))).toBe(0);
    expect(q.push(hbs(60, 150))).toBe(50);
    expect(q.length).toBe(100);
    expect(seqs(q.take())).toEqual(seqs(hbs(50, 150)));
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
    // Many small overflows: stays bounded, order kept.
    for (let i = 0; i < 5000; i++) q.push(hbs(i, i + 1));
    expect(seqs(q.take())).toEqual(seqs(hbs(4900, 5000)));
  });

  it("drops the oldest beyond its byte bound", () => {
    const big = { group: group(1), message: append(a, b, 0, 10, 1000) };
    const size = estimateSize(big.message);
    expect(size).toBeGreaterThan(10_000);
    const q = new MessageQueue(1000, size * 2 + 100);
    q.push([big, big]);
    expect(q.push(hbs(0, 1))).toBe(0);
    expect(q.push([big])).toBe(1);
    expect(q.length).toBe(3);
    expect(q.take().map((m) => m.message.type)).toEqual(["append", "heartbeat", "append"]);
  });
});

describe("DelayLine", () => {
  it("releases in sending order, never earlier than asked, and bounds what it holds", async () => {
    const released: number[] = [];
    const line = new DelayLine((messages) => released.push(...seqs(messages)), 10);
    const start = Date.now();
    line.hold(hbs(0, 2), 60);
    line.hold(hbs(2, 3), 0); // waits behind the first
    expect(line.length).toBe(3);
    await sleep(30);
    expect(released).toEqual([]);
    await sleep(60);
    expect(released).toEqual([0, 1, 2]);
    expect(Date.now() - start).toBeGreaterThanOrEqual(60);
    expect(line.hold(hbs(10, 25), 20)).toBe(5);
    expect(line.length).toBe(10);
    line.clear();
    await sleep(40);
    expect(released).toEqual([0, 1, 2]);
  });
});
