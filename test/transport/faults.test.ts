import { afterEach, describe, expect, it } from "vitest";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import {
  closeAll,
  flushAll,
  heartbeat,
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

/** Sends heartbeat `seq` from `from` to each of `to`. */
function ping(from: TestNode, to: readonly TestNode[], seq: number): void {
  for (const node of to) from.transport.send(node.id, [heartbeat(from.id, node.id, seq)]);
}

describe("PeerTransport fault rules", () => {
  it("drops outbound traffic to one peer until cleared", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    a.transport.setFaults([{ peer: b.id, direction: FaultDirection.OUT, drop: true }]);
    ping(a, [b, c], 1);
    ping(b, [a], 1); // the rule is outbound only: b -> a still flows
    await waitFor(() => c.receivedFrom(a.id).length === 1 && a.receivedFrom(b.id).length === 1);
    await flushAll(nodes);
    expect(b.receivedFrom(a.id)).toEqual([]);
    expect(a.transport.stats()).toMatchObject({ droppedFault: 1, sentMessages: 1, failedCalls: 0 });

    a.transport.clearFaults();
    expect(a.transport.faults()).toEqual([]);
    ping(a, [b, c], 2);
    await waitFor(() => b.receivedFrom(a.id).length === 1 && c.receivedFrom(a.id).length === 2);
    expect(seqs(b.receivedFrom(a.id))).toEqual([2]);
  });

  it("drops inbound traffic from one peer: the sender sees success, others get through", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, drop: true }]);
    ping(a, [b], 1);
    ping(c, [b], 1);
    ping(b, [a], 1); // inbound only: b -> a still flows
    await waitFor(() => b.receivedFrom(c.id).length === 1 && a.receivedFrom(b.id).length === 1);
    await flushAll(nodes);
    expect(b.receivedFrom(a.id)).toEqual([]);
    expect(b.transport.stats()).toMatchObject({ droppedInbound: 1, received: 1, rejectedCalls: 0 });
    // As with a lossy network: a's link stays healthy, no backoff, nothing logged.
    expect(a.transport.stats()).toMatchObject({ sentBatches: 1, failedCalls: 0, dropped: 0 });
    expect(a.logs.filter((l) => l.event.startsWith("transport.peer_"))).toEqual([]);

    b.transport.clearFaults();
    ping(a, [b], 2);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    expect(seqs(b.receivedFrom(a.id))).toEqual([2]);
  });

  it("delays outbound traffic to one peer by 200 ms without holding up the others", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    a.transport.setFaults([{ peer: b.id, direction: FaultDirection.OUT, delayMs: 200 }]);
    const sent = performance.now();
    ping(a, [b, c], 1);
    await waitFor(() => c.receivedFrom(a.id).length === 1);
    expect(c.deliveries[0].at - sent).toBeLessThan(150);
    expect(b.receivedFrom(a.id)).toEqual([]);
    expect(a.transport.stats().peers.find((p) => p.peer === b.id)?.delayed).toBe(1);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    expect(b.deliveries[0].at - sent).toBeGreaterThanOrEqual(199);
    expect(b.deliveries[0].at - sent).toBeLessThan(600);
  });

  it("delays inbound traffic from one peer by 200 ms without holding up the others", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, delayMs: 200 }]);
    const sent = performance.now();
    ping(a, [b], 1);
    await sleep(20);
    ping(c, [b], 1);
    await waitFor(() => b.receivedFrom(c.id).length === 1);
    expect(b.receivedFrom(a.id)).toEqual([]);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    const fromA = b.deliveries.find((d) => d.from === a.id);
    expect((fromA?.at ?? 0) - sent).toBeGreaterThanOrEqual(199);
    expect(b.deliveries.map((d) => d.from)).toEqual([c.id, a.id]);
  });

  it("holds inbound batches longer than the stream's deadline without breaking it, in order", async () => {
    nodes = await startCluster(2, () => ({ callTimeoutMs: 400 }));
    const [a, b] = nodes;
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, delayMs: 1000 }]);
    for (let seq = 1; seq <= 5; seq++) {
      ping(a, [b], seq);
      await sleep(10);
    }
    await waitFor(() => b.receivedFrom(a.id).length === 5);
    expect(seqs(b.receivedFrom(a.id))).toEqual([1, 2, 3, 4, 5]);
    // A delay is latency, not a stall: the sender's stream stayed healthy.
    expect(a.transport.stats()).toMatchObject({ sentMessages: 5, failedCalls: 0, dropped: 0 });
  });

  it("discards what an inbound delay holds when the transport closes", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, delayMs: 200 }]);
    ping(a, [b], 1);
    await waitFor(() => a.transport.stats().sentMessages === 1);
    await b.transport.close();
    await sleep(300);
    expect(b.deliveries).toEqual([]);
    expect(b.transport.stats().droppedInbound).toBe(1);
  });

  it("keeps order when a delay is cleared while messages are held", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    a.transport.setFaults([{ peer: 0, delayMs: 150 }]); // every peer, both directions
    ping(a, [b], 1);
    await sleep(20);
    a.transport.setFaults([{ peer: 0, delayMs: 10 }]);
    ping(a, [b], 2);
    a.transport.clearFaults();
    ping(a, [b], 3);
    await waitFor(() => b.receivedFrom(a.id).length === 3);
    expect(seqs(b.receivedFrom(a.id))).toEqual([1, 2, 3]);
    // Cleared: later traffic is immediate again.
    const sent = performance.now();
    ping(a, [b], 4);
    await waitFor(() => b.receivedFrom(a.id).length === 4);
    expect(performance.now() - sent).toBeLessThan(100);
  });

  it("applies peer 0 to every peer, and drop wins over delay", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    a.transport.setFaults([
      { peer: 0, direction: FaultDirection.BOTH, delayMs: 100 },
      { peer: c.id, direction: FaultDirection.UNSPECIFIED, drop: true }, // unspecified = both
    ]);
    expect(a.transport.faultVerdict(b.id, "out")).toEqual({ drop: false, delayMs: 100 });
    expect(a.transport.faultVerdict(b.id, "in")).toEqual({ drop: false, delayMs: 100 });
    expect(a.transport.faultVerdict(c.id, "out")).toEqual({ drop: true, delayMs: 0 });
    expect(a.transport.faultVerdict(c.id, "in")).toEqual({ drop: true, delayMs: 0 });
    ping(a, [b, c], 1);
    ping(c, [a], 1);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    await flushAll(nodes);
    expect(c.receivedFrom(a.id)).toEqual([]);
    expect(a.receivedFrom(c.id)).toEqual([]);
    expect(a.transport.stats()).toMatchObject({ droppedFault: 1, droppedInbound: 1 });
  });

  it("refuses invalid rules and keeps the old ones", async () => {
    nodes = await startCluster(1);
    const [a] = nodes;
    a.transport.setFaults([{ peer: 2, drop: true }]);
    expect(() => a.transport.setFaults([{ peer: 3, delayMs: 3_600_000 }])).toThrow(RangeError);
    expect(() => a.transport.setFaults([{ peer: 3, direction: 9 as FaultDirection }])).toThrow(RangeError);
    expect(a.transport.faults()).toMatchObject([{ peer: 2, drop: true }]);
  });
});
