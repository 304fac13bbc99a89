/**
 * The hot unary methods served straight on node:http2, in front of connect-node.
 *
 * Why: connect-node spends about 0.4-0.5 ms of CPU on each unary call (header and signal
 * objects, async iterables, a generic serialization pipeline), which the profile of a loaded
 * node showed as its largest cost: every write crosses Raft.Send twice per follower, and every
 * client Put or Get is one call. Served here, a call costs a header parse, one protobuf decode
 * and one encode.
 *
 * What: a unary call to a registered method in the Connect protocol with binary messages
 * (`application/proto`, uncompressed) or in the gRPC protocol (`application/grpc` or
 * `application/grpc+proto`, uncompressed), answered exactly as connect-node would: the same
 * status codes, Connect's JSON error body with metadata as headers, gRPC's status and message
 * in trailers. Anything else (JSON, compression, GET, gRPC-Web, other methods) falls through to
 * connect-node unchanged. Client-streaming methods registered here (fast-client-stream.ts) and
 * request/response streams answered out of order (fast-unordered-stream.ts) are served alike, in
 * front of connect-node.
 */

import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import {
  clientStreamProtocolOf,
  type FastClientStreamMethod,
  serveClientStream,
} from "./fast-client-stream.js";
import {
  type FastUnorderedStreamMethod,
  serveUnorderedStream,
  unorderedStreamProtocolOf,
} from "./fast-unordered-stream.js";
import type { RequestContext } from "./routing.js";

/** The largest request body taken on the fast path; larger ones get ResourceExhausted. */
export const MAX_FAST_REQUEST_BYTES = 16 * 1024 * 1024;

export interface FastUnaryMethod {
  /** "/package.Service/Method" */
  readonly path: string;
  /** Decodes the request, runs the method, encodes its response. */
  readonly call: (payload: Uint8Array, context: RequestContext) => Promise<Uint8Array>;
}

export function fastUnary<I extends DescMessage, O extends DescMessage>(
  method: {
    readonly parent: { readonly typeName: string };
    readonly name: string;
    readonly input: I;
    readonly output: O;
  },
  handle: (request: MessageShape<I>, context: RequestContext) => Promise<MessageInitShape<O>>,
): FastUnaryMethod {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    call: async (payload, context) => {
      let request: MessageShape<I>;
      try {
        request = fromBinary(method.input, payload);
      } catch (error) {
        throw new ConnectError(
          `the request is not a valid ${method.input.typeName}: ${String(error)}`,
          Code.InvalidArgument,
        );
      }
      return toBinary(method.output, create(method.output, await handle(request, context)));
    },
  };
}

type Protocol = "connect" | "grpc";
type RequestHandler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/**
 * A method served on the fast path: unary (fastUnary), client-streaming (fast-client-stream.ts)
 * or a bidi stream answered out of order (fast-unordered-stream.ts).
 */
export type FastMethod = FastUnaryMethod | FastClientStreamMethod | FastUnorderedStreamMethod;

/** A request handler that serves `methods` here and passes everything else to `fallback`. */
export function withFastPath(methods: readonly FastMethod[], fallback: RequestHandler): RequestHandler {
  const byPath = new Map(methods.map((m) => [m.path, m]));
  return (req, res) => {
    const method = req.method === "POST" ? byPath.get(req.url) : undefined;
    if (method !== undefined && "answers" in method) {
      const protocol = unorderedStreamProtocolOf(req);
      if (protocol) serveUnorderedStream(method, protocol, req, res);
      else fallback(req, res);
      return;
    }
    if (method !== undefined && "open" in method) {
      const protocol = clientStreamProtocolOf(req);
      if (protocol) serveClientStream(method, protocol, req, res);
      else fallback(req, res);
      return;
    }
    const protocol = method && protocolOf(req);
    if (!method || !protocol) {
      fallback(req, res);
      return;
    }
    void serve(method, protocol, req, res);
  };
}

function protocolOf(req: Http2ServerRequest): Protocol | undefined {
  const type = req.headers["content-type"];
  if (type === "application/proto") {
    const encoding = req.headers["content-encoding"];
    return encoding === undefined || encoding === "identity" ? "connect" : undefined;
  }
  if (type === "application/grpc" || type === "application/grpc+proto") {
    const encoding = req.headers["grpc-encoding"];
    return encoding === undefined || encoding === "identity" ? "grpc" : undefined;
  }
  return undefined;
}

async function serve(
  method: FastUnaryMethod,
  protocol: Protocol,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): Promise<void> {
  const timeoutMs = protocol === "connect" ? connectTimeoutOf(req) : grpcTimeoutOf(req);
  const abort = new AbortController();
  const onClose = () => abort.abort(new ConnectError("the client closed the call", Code.Canceled));
  res.once("close", onClose);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => abort.abort(new ConnectError("the call's deadline passed", Code.DeadlineExceeded)),
          timeoutMs,
        );
  try {
    const body = await readBody(req);
    let payload = body;
    if (protocol === "grpc") {
      if (
        body.length < 5 ||
        body[0] !== 0 ||
        new DataView(body.buffer, body.byteOffset).getUint32(1) !== body.length - 5
      ) {
        throw new ConnectError(
          "a gRPC unary request must carry one uncompressed message",
          Code.InvalidArgument,
        );
      }
      payload = body.subarray(5);
    }
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const context: RequestContext = {
      requestHeader: headersOf(req),
      signal: abort.signal,
      timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    };
    const response = await method.call(payload, context);
    if (res.closed || res.destroyed) return;
    if (protocol === "connect") {
      res.writeHead(200, { "content-type": "application/proto", "content-length": response.length });
      res.end(response);
    } else {
      const framed = new Uint8Array(response.length + 5);
      new DataView(framed.buffer).setUint32(1, response.length);
      framed.set(response, 5);
      res.writeHead(200, { "content-type": "application/grpc+proto" });
      res.addTrailers({ "grpc-status": "0" });
      res.end(framed);
    }
  } catch (error) {
    if (!res.closed && !res.destroyed && !res.headersSent)
      writeError(protocol, res, ConnectError.from(error));
  } finally {
    clearTimeout(timer);
    res.off("close", onClose);
  }
}

function writeError(protocol: Protocol, res: Http2ServerResponse, error: ConnectError): void {
  const metadata: Record<string, string> = {};
  error.metadata.forEach((value, key) => {
    metadata[key] = value;
  });
  if (protocol === "connect") {
    const body = errorToJsonBytes(error, {});
    res.writeHead(codeToHttpStatus(error.code), {
      ...metadata,
      "content-type": "application/json",
      "content-length": body.length,
    });
    res.end(body);
    return;
  }
  res.writeHead(200, { "content-type": "application/grpc+proto" });
  res.addTrailers({
    ...metadata,
    "grpc-status": String(error.code),
    "grpc-message": encodeURIComponent(error.rawMessage),
  });
  res.end();
}

function readBody(req: Http2ServerRequest): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FAST_REQUEST_BYTES) {
        reject(
          new ConnectError(
            `the request is larger than ${MAX_FAST_REQUEST_BYTES} bytes`,
            Code.ResourceExhausted,
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once("error", (error) =>
      reject(new ConnectError(`reading the request failed: ${error.message}`, Code.Canceled)),
    );
  });
}

export function headersOf(req: Http2ServerRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : String(value));
  }
  return headers;
}

export function connectTimeoutOf(req: Http2ServerRequest): number | undefined {
  const text = req.headers["connect-timeout-ms"];
  if (typeof text !== "string" || !/^\d{1,10}$/.test(text)) return undefined;
  return Number(text);
}

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

export function grpcTimeoutOf(req: Http2ServerRequest): number | undefined {
  const text = req.headers["grpc-timeout"];
  const match = typeof text === "string" ? /^(\d{1,8})([HMSmun])$/.exec(text) : null;
  if (!match) return undefined;
  return Math.max(1, Math.ceil(Number(match[1]) * (GRPC_UNITS[match[2] as string] as number)));
}
