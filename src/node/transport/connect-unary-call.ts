/**
 * One Connect-protocol unary call (binary, uncompressed) made on node:http2 directly, for
 * Raft.Send: connect-node's client spends about as much CPU per call as its server did, and a
 * busy node makes a few hundred of these calls a second. The wire is the Connect protocol's, so
 * any Connect server (the fast path of fast-unary.ts, or connect-node) answers it alike.
 */

import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { PeerSession } from "./peer-session.js";

/** Largest response body read; a Send answer is a few bytes. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export async function connectUnaryCall(
  session: PeerSession,
  path: string,
  body: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (signal.aborted) throw new ConnectError("the call was cancelled", Code.Canceled);
  let stream: http2.ClientHttp2Stream;
  try {
    stream = await session.request(
      "POST",
      path,
      {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        "connect-timeout-ms": String(timeoutMs),
        "content-length": body.length,
      },
      {},
    );
  } catch (error) {
    throw new ConnectError(`cannot reach ${session.authority}: ${String(error)}`, Code.Unavailable);
  }
  return new Promise<Uint8Array>((resolve, reject) => {
    let status = 0;
    let contentType = "";
    const metadata = new Headers();
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: ConnectError | undefined, result?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (error) {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(error);
      } else resolve(result as Uint8Array);
    };
    const onAbort = () => finish(new ConnectError("the call was cancelled", Code.Canceled));
    signal.addEventListener("abort", onAbort);
    const timer = setTimeout(
      () => finish(new ConnectError(`no answer within ${timeoutMs} ms`, Code.DeadlineExceeded)),
      timeoutMs,
    );
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
      contentType = String(headers["content-type"] ?? "");
      for (const [name, value] of Object.entries(headers)) {
        if (!name.startsWith(":") && value !== undefined) metadata.set(name, String(value));
      }
    });
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        finish(
          new ConnectError(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`, Code.ResourceExhausted),
        );
      } else chunks.push(chunk);
    });
    stream.on("error", (error) =>
      finish(new ConnectError(`the call failed: ${error.message}`, Code.Unavailable)),
    );
    stream.on("close", () =>
      finish(new ConnectError("the stream closed without an answer", Code.Unavailable)),
    );
    stream.on("end", () => {
      const bytes = Buffer.concat(chunks);
      if (status === 200 && contentType === "application/proto") finish(undefined, bytes);
      else if (contentType.startsWith("application/json")) {
        finish(
          errorFromJsonBytes(bytes, metadata, new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status))),
        );
      } else
        finish(
          new ConnectError(`unexpected answer: HTTP ${status} ${contentType}`, codeFromHttpStatus(status)),
        );
    });
    stream.end(body);
  });
}
