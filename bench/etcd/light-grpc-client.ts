/**
 * The lightest gRPC unary client we could write, for driving etcd in the comparison: one
 * HTTP/2 session per endpoint (node:http2, many calls in flight on it), requests encoded by
 * hand (etcd's PutRequest and RangeRequest are two or three fields), responses not decoded
 * beyond the gRPC status. @grpc/grpc-js used up to ~75% of a core driving etcd on this 2-core
 * machine, CPU taken from the systems under test; the issue asks for a generator lighter than
 * both systems. This one speaks only what the benchmark needs: uncompressed gRPC over cleartext
 * HTTP/2 ("prior knowledge"), unary calls, a deadline per call (grpc-timeout and a local timer).
 */

import * as http2 from "node:http2";

/** A failed call: `code` is the gRPC status code (4 DeadlineExceeded, 14 Unavailable, ...). */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export class LightGrpcClient {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly authority: string) {}

  /** Calls `path` (e.g. /etcdserverpb.KV/Put) with an encoded request message. */
  call(path: string, message: Uint8Array, deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.connect().request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": `${deadlineMs}m`,
        });
      } catch (error) {
        reject(new GrpcCallError(UNAVAILABLE, String(error)));
        return;
      }
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle(new GrpcCallError(DEADLINE_EXCEEDED, `no answer within ${deadlineMs} ms`));
      }, deadlineMs);
      let done = false;
      const settle = (error?: GrpcCallError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      let status: string | undefined;
      let statusMessage = "";
      const onHeaders = (headers: http2.IncomingHttpHeaders) => {
        // A trailers-only answer (an error) carries grpc-status in its headers.
        if (headers["grpc-status"] !== undefined) {
          status = String(headers["grpc-status"]);
          statusMessage = String(headers["grpc-message"] ?? "");
        }
      };
      stream.on("response", onHeaders);
      stream.on("trailers", onHeaders);
      stream.on("data", () => {}); // the response message is not needed: drain it
      stream.on("error", (error) => settle(new GrpcCallError(UNAVAILABLE, error.message)));
      stream.on("close", () => {
        if (status === "0") settle();
        else if (status !== undefined)
          settle(new GrpcCallError(Number(status), decodeURIComponent(statusMessage)));
        else
          settle(
            new GrpcCallError(UNAVAILABLE, `the stream closed without a gRPC status (${stream.rstCode})`),
          );
      });
      const envelope = Buffer.allocUnsafe(5 + message.length);
      envelope[0] = 0; // not compressed
      envelope.writeUInt32BE(message.length, 1);
      envelope.set(message, 5);
      stream.end(envelope);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`http://${this.authority}`);
    session.on("error", () => {}); // each call fails on its own stream's error
    session.on("close", () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }
}

/** A protobuf message of length-delimited fields (wire type 2) and varints (wire type 0). */
export function encodeFields(fields: readonly (readonly [number, Uint8Array | number])[]): Uint8Array {
  const parts: number[] = [];
  const varint = (n: number) => {
    while (n > 0x7f) {
      parts.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    parts.push(n);
  };
  const chunks: Uint8Array[] = [];
  for (const [field, value] of fields) {
    if (typeof value === "number") {
      varint((field << 3) | 0);
      varint(value);
    } else {
      varint((field << 3) | 2);
      varint(value.length);
      chunks.push(Uint8Array.from(parts.splice(0)), value);
    }
  }
  chunks.push(Uint8Array.from(parts));
  return Buffer.concat(chunks);
}
