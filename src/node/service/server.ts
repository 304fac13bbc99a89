/**
 * The node's one HTTP/2 server (cleartext), serving its Connect services in the Connect, gRPC
 * and gRPC-Web protocols (the hot unary methods on a lighter path: fast-unary.ts). It keeps track of its sessions so that a shutdown can end them:
 * HTTP/2 clients (peers above all) keep a session open indefinitely, and server.close() alone
 * would wait for them forever.
 */

import http2 from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type FastMethod, withFastPath } from "./fast-unary.js";

/** Listening failed; the message names the address and what to do. */
export class ListenError extends Error {
  override name = "ListenError";
}

export interface NodeServer {
  /** Stops accepting connections and ends the open sessions: gracefully, then, after `graceMs`, by force. */
  close(graceMs: number): Promise<void>;
}

export function listen(
  routes: (router: ConnectRouter) => void,
  /** Hot methods served on node:http2 directly (fast-unary.ts); the rest by connect-node. */
  fast: readonly FastMethod[],
  host: string,
  port: number,
): Promise<NodeServer> {
  const server = http2.createServer(withFastPath(fast, connectNodeAdapter({ routes })));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {}); // a peer or client that vanished; its streams fail on their own
  });
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.close();
      reject(new ListenError(describeListenError(address, error)));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      server.on("error", () => {}); // after listening, errors are per session
      resolve({
        close: (graceMs) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => {
              for (const session of sessions) session.destroy();
            }, graceMs);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            for (const session of sessions) session.close();
          }),
      });
    });
  });
}

export function describeListenError(address: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "EADDRINUSE":
      return `cannot listen on ${address}: the address is already in use (another tinyo node, or another program); stop it or choose another port`;
    case "EADDRNOTAVAIL":
      return `cannot listen on ${address}: the host is not an address of this machine`;
    case "EACCES":
      return `cannot listen on ${address}: permission denied (ports below 1024 need privileges); choose another port`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot listen on ${address}: the host name does not resolve`;
    default:
      return `cannot listen on ${address}: ${error.message}`;
  }
}
