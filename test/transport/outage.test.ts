import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { nodeId } from "../../src/node/ids.js";
import { ACCEPTED_HEADER } from "../../src/node/transport/stream-handler.js";
import {
  append,
  closeAll,
  group,
  heartbeat,
  nextMacrotask,
  seqs,
  sleep,
  startCluster,
  TestNode,
  waitFor,
} from "./harness.js";

let nodes: TestNode[] = [];
afterEach(async () => {
  await closeAll(nodes);
  nodes = [];
});

const tuning = () => ({ maxQueuedMessages: 100, backoffInitialMs: 10, backoffMaxMs: 100 });

describe("PeerTransport with a peer down", () => {
  it("drops (bounded) during the outage, logs once, reconnects and delivers later messages", async () => {
    nodes = await startCluster(2, tuning);
    const [a, b] = nodes;
    a.transport.send(b.id, [heartbeat(a.id, b.id, 0)]);
    await waitFor(() => b.receivedFrom(a.id).length === 1);
    const port = b.server.port;
    await b.server.stop();

    let maxQueued = 0;
    for (let i = 1; i <= 1000; i++) {
      a.transport.send(b.id, [heartbeat(a.id, b.id, i)]);
      maxQueued = Math.max(maxQueued, a.transport.stats().peers[0].queued);
      if (i % 50 === 0) await sleep(5);
    }
    await a.transport.flush();
    const down = a.transport.stats();
    expect(maxQueued).toBeLessThanOrEqual(100);
    expect(down.sentBatches).toBe(1);
    expect(down.dropped).toBe(1000);
    expect(down.droppedOverflow).toBeGreaterThan(0);
    expect(down.droppedOverflow + down.droppedFailedCall).toBe(1000);
    expect(down.failedCalls).toBeGreaterThan(1);
    expect(down.peers[0].consecutiveFailures).toBe(down.failedCalls);
    // One line for the whole outage, not one per failed call.
    expect(a.logged("transport.peer_unreachable")).toHaveLength(1);
    expect(a.logged("transport.peer_unreachable")[0].fields).toMatchObject({
      peer: b.id,
      code: "Unavailable",
    });

    await b.server.start(port);
    // Raft would retransmit; here the test does, until one lands.
    let seq = 2000;
    await waitFor(() => {
      a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
      return b.receivedFrom(a.id).length > 1;
    });
    await a.transport.flush();
    expect(b.receivedFrom(a.id)[1].message).toMatchObject({ type: "heartbeat", commit: expect.any(Number) });
    expect(a.logged("transport.peer_recovered")).toEqual([
      {
        event: "transport.peer_recovered",
        fields: expect.objectContaining({
          peer: b.id,
          failedCalls: expect.any(Number),
          droppedMessages: 1000,
        }),
      },
    ]);
    expect(a.transport.stats().peers[0].consecutiveFailures).toBe(0);
    // Nothing from before the recovery leaked through out of order.
    const got = b.receivedFrom(a.id).map((m) => (m.message.type === "heartbeat" ? m.message.commit : -1));
    expect(got).toEqual([...got].sort((x, y) => x - y));
  });

  it("survives peers restarting gracefully (GOAWAY) and abruptly, again and again", async () => {
    nodes = await startCluster(2, () => ({ backoffInitialMs: 1, backoffMaxMs: 4 }));
    const [a, b] = nodes;
    let seq = 0;
    for (let round = 0; round < 20; round++) {
      const before = b.receivedFrom(a.id).length;
      await waitFor(() => {
        a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
        return b.receivedFrom(a.id).length > before;
      });
      // Keep sending while the peer goes away and comes back on the same port.
      const port = b.server.port;
      const stopping = b.server.stop(round % 2 === 0 ? "graceful" : "abrupt");
      for (let i = 0; i < 5; i++) {
        a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
        await sleep(round % 3);
      }
      await stopping;
      a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
      await b.server.start(port);
    }
    await waitFor(() => {
      a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
      return a.transport.stats().peers[0].consecutiveFailures === 0 && b.receivedFrom(a.id).length > 20;
    });
    const got = seqs(b.receivedFrom(a.id));
    expect(got).toEqual([...got].sort((x, y) => x - y));
  });

  it("backs off exponentially while the peer stays down", async () => {
    nodes = await startCluster(2, () => ({ backoffInitialMs: 20, backoffMaxMs: 160 }));
    const [a, b] = nodes;
    await b.server.stop();
    const started = Date.now();
    while (Date.now() - started < 700) {
      a.transport.send(b.id, [heartbeat(a.id, b.id, 1)]);
      await sleep(2);
    }
    // Backoffs 20, 40, 80, 160, 160, ...: about 6 calls in 700 ms, not 350.
    const failed = a.transport.stats().failedCalls;
    expect(failed).toBeGreaterThanOrEqual(4);
    expect(failed).toBeLessThanOrEqual(9);
  });

  it("gives up on a black-holed peer at the deadline and reconnects", async () => {
    // Accepts TCP connections and never answers.
    const sockets = new Set<net.Socket>();
    const hole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hole.listen(0, "127.0.0.1", resolve));
    try {
      const a = new TestNode(nodeId(1), { callTimeoutMs: 200, backoffInitialMs: 10 });
      nodes.push(a);
      a.transport.setPeers(new Map([[nodeId(2), `127.0.0.1:${(hole.address() as net.AddressInfo).port}`]]));
      const started = Date.now();
      a.transport.send(nodeId(2), [heartbeat(a.id, nodeId(2), 1)]);
      await waitFor(() => a.transport.stats().failedCalls === 1, 2000);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(1000);
      expect(a.logged("transport.peer_unreachable")[0].fields).toMatchObject({ code: "DeadlineExceeded" });
      // The session was dropped: the next call opens a new connection.
      const connectionsBefore = await connections(hole);
      a.transport.send(nodeId(2), [heartbeat(a.id, nodeId(2), 2)]);
      await waitFor(() => a.transport.stats().failedCalls === 2, 2000);
      expect(await connections(hole)).toBeGreaterThan(0);
      expect(sockets.size).toBeLessThanOrEqual(connectionsBefore + 1);
    } finally {
      await closeAll(nodes);
      nodes = [];
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }
  });

  it("replaces a stream whose connection goes silent after it was accepted (ping)", async () => {
    nodes = await startCluster(2, () => ({ callTimeoutMs: 500, backoffInitialMs: 10 }));
    const [a, b] = nodes;
    const proxy = await freezableProxy(b.server.port);
    try {
      a.transport.setPeers(new Map([[b.id, proxy.address]]));
      a.transport.send(b.id, [heartbeat(a.id, b.id, 1)]);
      await waitFor(() => b.receivedFrom(a.id).length === 1);
      // The connection goes silent (a cable cut, a dead host): nothing passes, nothing closes.
      proxy.freeze();
      const failedBefore = a.transport.stats().failedCalls;
      let seq = 2;
      await waitFor(() => {
        a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
        return a.transport.stats().failedCalls > failedBefore;
      }, 5000);
      expect(a.logged("transport.peer_unreachable")[0]?.fields).toMatchObject({ code: "DeadlineExceeded" });
      // A new connection (through the thawed proxy) carries the next stream.
      proxy.thaw();
      const before = b.receivedFrom(a.id).length;
      await waitFor(() => {
        a.transport.send(b.id, [heartbeat(a.id, b.id, seq++)]);
        return b.receivedFrom(a.id).length > before;
      }, 3000);
      expect(proxy.connections()).toBeGreaterThanOrEqual(2);
      const got = seqs(b.receivedFrom(a.id));
      expect(got).toEqual([...got].sort((x, y) => x - y));
    } finally {
      await closeAll(nodes);
      nodes = [];
      await proxy.close();
    }
  });

  it("replaces a stream whose writes stop draining (a peer that stopped reading)", async () => {
    const peer = http2.createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/connect+proto", [ACCEPTED_HEADER]: "1" });
      req.pause(); // never reads: flow control fills up
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    peer.on("session", (session) => sessions.add(session));
    await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
    try {
      const a = new TestNode(nodeId(1), {
        callTimeoutMs: 200,
        backoffInitialMs: 10_000,
        maxQueuedMessages: 50,
      });
      nodes.push(a);
      a.transport.setPeers(new Map([[nodeId(2), `127.0.0.1:${(peer.address() as net.AddressInfo).port}`]]));
      for (let i = 0; i < 100; i++) {
        a.transport.send(nodeId(2), [{ group: group(0), message: append(a.id, nodeId(2), i, 1, 10 * 1024) }]);
        await nextMacrotask();
      }
      expect(a.transport.stats().peers[0].queued).toBeLessThanOrEqual(50);
      await waitFor(() => a.transport.stats().failedCalls === 1, 5000);
      expect(a.logged("transport.peer_unreachable")[0]?.fields).toMatchObject({
        code: "DeadlineExceeded",
        error: expect.stringMatching(/did not drain|ping/),
      });
      const stats = a.transport.stats();
      expect(stats.droppedOverflow).toBeGreaterThan(0);
      expect(stats.droppedFailedCall).toBeGreaterThan(0);
    } finally {
      await closeAll(nodes);
      nodes = [];
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });

  it("closes promptly with a stream open and messages held by the peer", async () => {
    nodes = await startCluster(2, () => ({ backoffInitialMs: 5_000 }));
    const [a, b] = nodes;
    b.transport.setFaults([{ peer: a.id, delayMs: 5_000 }]);
    a.transport.send(b.id, [heartbeat(a.id, b.id, 1)]);
    await waitFor(() => a.transport.stats().sentMessages === 1);
    const started = Date.now();
    await closeAll(nodes);
    nodes = [];
    expect(Date.now() - started).toBeLessThan(1000);
    expect(b.deliveries).toEqual([]);
  });
});

function connections(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** A TCP proxy to 127.0.0.1:`port` that can go silent: frozen, it passes nothing and closes nothing. */
async function freezableProxy(port: number) {
  let frozen = false;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (data) => {
      if (!frozen) upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (!frozen) client.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze: () => {
      frozen = true;
    },
    /** New connections pass again; the frozen ones stay dead (their bytes were lost). */
    thaw: () => {
      frozen = false;
      for (const socket of sockets) socket.destroy();
    },
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
