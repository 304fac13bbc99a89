import { afterEach, describe, expect, it } from "vitest";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import {
  closeAll,
  flushAll,
  heartbeat,
  nextMacrotask,
  seqs,
  sleep,
  startCluster,
  type TestNode,
  waitFor,
} from "./harness.js";

let nodes: TestNode[] = [];
afterEach(async () => {
  await closeAll(nodes);
  nodes = [];
});

describe("PeerTransport batching", () => {
  it("sends what is queued in one macrotask in one call", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    for (let i = 0; i < 1000; i++) a.transport.send(b.id, [heartbeat(a.id, b.id, i, i % 32)]);
    await waitFor(() => b.receivedFrom(a.id).length === 1000);
    expect(b.callsFrom(a.id)).toBe(1);
    expect(seqs(b.receivedFrom(a.id))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("accumulates a burst behind a slow call: 1,000 messages in a handful of calls", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    // The receiver holds every call from a for 50 ms, so a's next call waits for it.
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, delayMs: 50 }]);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      a.transport.send(b.id, [heartbeat(a.id, b.id, i, i % 32)]);
      if (i % 10 === 9) await sleep(1); // the burst spans ~150 ms: several 50 ms calls
    }
    await waitFor(() => b.receivedFrom(a.id).length === 1000);
    await flushAll(nodes);
    const calls = b.callsFrom(a.id);
    console.log(
      `batching: 1000 messages in ${calls} calls (${(performance.now() - started).toFixed(0)} ms, inbound delay 50 ms)`,
    );
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(20);
    expect(a.transport.stats()).toMatchObject({ sentBatches: calls, sentMessages: 1000, dropped: 0 });
    expect(seqs(b.receivedFrom(a.id))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("keeps at most one call in flight per peer", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    b.transport.setFaults([{ peer: a.id, delayMs: 100 }]);
    a.transport.send(b.id, [heartbeat(a.id, b.id, 0)]);
    await waitFor(() => a.transport.stats().peers.find((p) => p.peer === b.id)?.inFlight === 1);
    a.transport.send(b.id, [heartbeat(a.id, b.id, 1), heartbeat(a.id, b.id, 2)]);
    a.transport.send(c.id, [heartbeat(a.id, c.id, 0)]);
    // The link to c is not held up by the slow one to b.
    await waitFor(() => c.receivedFrom(a.id).length === 1, 90);
    await nextMacrotask();
    const toB = a.transport.stats().peers.find((p) => p.peer === b.id);
    expect(toB).toMatchObject({ inFlight: 1, queued: 2 });
    await waitFor(() => b.receivedFrom(a.id).length === 3);
    expect(b.deliveries.map((d) => seqs(d.messages))).toEqual([[0], [1, 2]]);
  });
});
