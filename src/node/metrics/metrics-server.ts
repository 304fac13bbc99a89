/**
 * A plain HTTP/1.1 server for Prometheus: GET /metrics, nothing else. Separate from the node's
 * main port because that one speaks cleartext HTTP/2 only (Node's h2c server cannot also answer
 * HTTP/1.1), and scrapers and `curl` speak HTTP/1.1 by default.
 */

import http from "node:http";
import type { Registry } from "prom-client";
import { describeListenError, ListenError } from "../service/server.js";

export interface MetricsServer {
  close(): Promise<void>;
}

export function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("use GET\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  server.keepAliveTimeout = 5000;
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new ListenError(`--metrics-listen: ${describeListenError(address, error)}`)),
    );
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      server.on("error", () => {});
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
