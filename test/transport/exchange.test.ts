import { afterEach, describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import type { GroupMessage } from "../../src/node/transport/peer-transport.js";
import {
  closeAll,
  everyType,
  flushAll,
  group,
  heartbeat,
  nextMacrotask,
  seqs,
  startCluster,
  type TestNode,
  waitFor,
} from "./harness.js";

let nodes: TestNode[] = [];
afterEach(async () => {
  await closeAll(nodes);
  nodes = [];
});

describe("PeerTransport exchange", () => {
  it("delivers messages of every type for several groups between two nodes, both ways, in order", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const ab: GroupMessage[] = [];
    const ba: GroupMessage[] = [];
    for (let g = 0; g < 4; g++) {
      const forB = everyType(a.id, b.id, g);
      const forA = everyType(b.id, a.id, g);
      a.transport.send(b.id, forB);
      b.transport.send(a.id, forA);
      ab.push(...forB);
      ba.push(...forA);
      await nextMacrotask();
    }
    await waitFor(
      () => b.receivedFrom(a.id).length === ab.length && a.receivedFrom(b.id).length === ba.length,
    );
    expect(b.receivedFrom(a.id)).toEqual(ab);
    expect(a.receivedFrom(b.id)).toEqual(ba);
    // A snapshot message passes through Send with its metadata (the data will stream separately).
    const snapshot = b.receivedFrom(a.id).find((m) => m.message.type === "snapshot");
    expect(snapshot?.message).toMatchObject({ snapshot: { meta: { index: 1000, term: 9 } } });
    await flushAll(nodes);
    expect(a.transport.stats()).toMatchObject({ sentMessages: ab.length, dropped: 0, failedCalls: 0 });
    expect(b.transport.stats()).toMatchObject({ received: ab.length, rejectedCalls: 0 });
  });

  it("keeps per-peer order among three nodes sending to each other concurrently", async () => {
    nodes = await startCluster(3);
    const perLink = 600;
    for (let i = 0; i < perLink; i += 10) {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          const batch = Array.from({ length: 10 }, (_, k) => heartbeat(from.id, to.id, i + k, (i + k) % 7));
          from.transport.send(to.id, batch.slice(0, 5));
          from.transport.send(to.id, batch.slice(5));
        }
      }
      if (i % 50 === 0) await nextMacrotask();
    }
    const expected = Array.from({ length: perLink }, (_, i) => i);
    await waitFor(() =>
      nodes.every((to) => nodes.every((f) => f === to || to.receivedFrom(f.id).length === perLink)),
    );
    for (const to of nodes) {
      for (const from of nodes) {
        if (from === to) continue;
        const got = to.receivedFrom(from.id);
        expect(seqs(got)).toEqual(expected);
        expect(got.map((m) => m.group)).toEqual(expected.map((i) => i % 7));
        expect(got.every((m) => m.message.from === from.id && m.message.to === to.id)).toBe(true);
      }
    }
    await flushAll(nodes);
    for (const node of nodes) {
      const stats = node.transport.stats();
      expect(stats.sentMessages).toBe(2 * perLink);
      expect(stats.received).toBe(2 * perLink);
      expect(stats.dropped).toBe(0);
      // Many send() calls, few Send calls.
      expect(stats.sentBatches).toBeLessThan((2 * perLink) / 10);
    }
  });

  it("passes a snapshot message through Send with its metadata; its data is left to SendSnapshot", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    const meta = { index: 5000, term: 12, config: { voters: [a.id, b.id], learners: [] } };
    a.transport.send(b.id, [
      {
        group: group(3),
        message: {
          type: "snapshot",
          from: a.id,
          to: b.id,
          term: 12,
          snapshot: { meta, data: new Uint8Array([1, 2, 3]) },
        },
      },
    ]);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    expect(b.receivedFrom(a.id)[0]).toEqual({
      group: 3,
      message: {
        type: "snapshot",
        from: a.id,
        to: b.id,
        term: 12,
        snapshot: { meta, data: new Uint8Array(0) },
      },
    });
  });

  it("follows a peer to a new address given by setPeers", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    a.transport.send(b.id, [heartbeat(a.id, b.id, 1)]);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    await b.server.stop();
    await b.server.start(0); // another port
    a.transport.setPeers(new Map([[b.id, b.address]]));
    a.transport.send(b.id, [heartbeat(a.id, b.id, 2)]);
    await waitFor(() => b.receivedFrom(a.id).length === 2);
    expect(a.transport.stats().peers).toMatchObject([{ peer: b.id, address: b.address }]);
    a.transport.setPeers(new Map());
    a.transport.send(b.id, [heartbeat(a.id, b.id, 3)]);
    expect(a.transport.stats()).toMatchObject({ peers: [], droppedUnroutable: 1 });
  });

  it("drops and logs messages for a node it has no address for", async () => {
    nodes = await startCluster(2);
    const [a] = nodes;
    a.transport.send(nodeId(7), [heartbeat(a.id, nodeId(7), 1)]);
    a.transport.send(nodeId(7), [heartbeat(a.id, nodeId(7), 2)]);
    expect(a.transport.stats().droppedUnroutable).toBe(2);
    expect(a.logged("transport.unknown_peer")).toHaveLength(1);
  });
});
