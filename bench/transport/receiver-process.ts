/**
 * A receiving node in its own process, so that the throughput test can measure each side's CPU
 * separately: a PeerTransport (node 2) behind an HTTP/2 server on 127.0.0.1, counting what it
 * is handed. Started by throughput.test.ts with `fork(..., { execArgv: ["--import", "tsx"] })`.
 *
 * IPC: sends { type: "ready", port } once listening; answers { type: "stats" } with its counts
 * and process.cpuUsage(); exits on { type: "exit" } or when the parent goes away.
 */

import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { nodeId } from "../../src/node/ids.js";
import { withFastPath } from "../../src/node/service/fast-unary.js";
import { PeerTransport } from "../../src/node/transport/peer-transport.js";

const token = process.argv[2] ?? "test-cluster-token";
let messages = 0;
let calls = 0;
const transport = new PeerTransport({
  self: nodeId(2),
  clusterToken: token,
  peers: new Map(),
  onMessages: (_from, batch) => {
    messages += batch.length;
    calls++;
  },
});
// Raft.Stream and Raft.Send on the fast path, as a node serves them.
const server = http2.createServer(
  withFastPath(transport.fastMethods(), connectNodeAdapter({ routes: (router) => transport.routes(router) })),
);
server.listen(0, "127.0.0.1", () => {
  process.send?.({ type: "ready", port: (server.address() as AddressInfo).port });
});

const exit = async () => {
  await transport.close();
  server.close();
  process.exit(0);
};
process.on("disconnect", () => void exit());
process.on("message", (m: { type: string }) => {
  if (m.type === "stats") process.send?.({ type: "stats", messages, calls, cpu: process.cpuUsage() });
  if (m.type === "exit") void exit();
});
