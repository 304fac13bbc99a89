import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FaultDirection } from "../../src/gen/tinyo/v1/admin_pb.js";
import { nodeId } from "../../src/node/ids.js";
import { ACCEPTED_HEADER } from "../../src/node/transport/stream-handler.js";
import {
  append,
  closeAll,
  group,
  heartbeat,
  nextMacrotask,
  seqs,
  startCluster,
  TestNode,
  waitFor,
} from "./harness.js";

let nodes: TestNode[] = [];
afterEach(async () => {
  await closeAll(nodes);
  nodes = [];
});

describe("PeerTransport batching", () => {
  it("sends what is queued in one macrotask in one batch", async () => {
    nodes = await startCluster(2);
    const [a, b] = nodes;
    for (let i = 0; i < 1000; i++) a.transport.send(b.id, [heartbeat(a.id, b.id, i, i % 32)]);
    await waitFor(() => b.receivedFrom(a.id).length === 1000);
    expect(b.callsFrom(a.id)).toBe(1);
    expect(seqs(b.receivedFrom(a.id))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("writes each batch at once, without waiting for the peer to take the previous one", async () => {
    nodes = await startCluster(3);
    const [a, b, c] = nodes;
    // The receiver holds everything from a for 1 s; a's batches leave regardless.
    b.transport.setFaults([{ peer: a.id, direction: FaultDirection.IN, delayMs: 1000 }]);
    a.transport.send(b.id, [heartbeat(a.id, b.id, 0)]);
    await nextMacrotask();
    a.transport.send(b.id, [heartbeat(a.id, b.id, 1), heartbeat(a.id, b.id, 2)]);
    a.transport.send(c.id, [heartbeat(a.id, c.id, 0)]);
    await waitFor(() => a.transport.stats().peers.find((p) => p.peer === b.id)?.sentBatches === 2);
    expect(b.deliveries).toEqual([]);
    // The link to c is not held up by the slow one to b.
    await waitFor(() => c.receivedFrom(a.id).length === 1);
    await waitFor(() => b.receivedFrom(a.id).length === 3);
    expect(b.deliveries.map((d) => seqs(d.messages))).toEqual([[0], [1, 2]]);
    expect(a.transport.stats()).toMatchObject({ failedCalls: 0, dropped: 0 });
  });

  it("accumulates messages while flow control holds the stream, and sends them together", async () => {
    // A peer that accepts the stream, reads the first batch, then stops reading for 500 ms.
    const peer = await pausingPeer(500);
    try {
      const a = new TestNode(nodeId(1));
      nodes.push(a);
      a.transport.setPeers(new Map([[nodeId(2), peer.address]]));
      // 200 appends of 10 KiB, one per macrotask: far more than the stream's flow-control window.
      let maxQueued = 0;
      for (let i = 0; i < 200; i++) {
        a.transport.send(nodeId(2), [{ group: group(0), message: append(a.id, nodeId(2), i, 1, 10 * 1024) }]);
        await nextMacrotask();
        maxQueued = Math.max(maxQueued, a.transport.stats().peers[0].queued);
      }
      expect(maxQueued).toBeGreaterThan(1); // waited for the stream to drain, then left together
      await a.transport.flush();
      const stats = a.transport.stats();
      expect(stats).toMatchObject({ sentMessages: 200, dropped: 0, failedCalls: 0 });
      expect(stats.sentBatches).toBeLessThan(200);
      await waitFor(() => peer.batches() === stats.sentBatches);
    } finally {
      await closeAll(nodes);
      nodes = [];
      await peer.close();
    }
  });
});

/**
 * An HTTP/2 server that answers Raft.Stream as a node's fast path does, counts the envelopes it
 * reads, and stops reading for `pauseMs` after the first one.
 */
async function pausingPeer(pauseMs: number) {
  let envelopes = 0;
  const server = http2.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/connect+proto", [ACCEPTED_HEADER]: "1" });
    let pending = Buffer.alloc(0);
    let paused = false;
    req.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        pending = pending.subarray(5 + pending.readUInt32BE(1));
        envelopes++;
        if (!paused) {
          paused = true;
          req.pause();
          setTimeout(() => req.resume(), pauseMs);
        }
      }
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    batches: () => envelopes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
