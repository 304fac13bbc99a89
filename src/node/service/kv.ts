/**
 * tinyo.v1.KV: Put, Get, Delete and Scan as unary calls, and the Batch stream that carries many
 * of them. Both run the same per-request operations (kv-operations.ts: validation, routing,
 * forwarding and retries, request ids, headers).
 *
 * Batch (TiKV's BatchCommands): the handler reads requests as they come and starts each at once;
 * each answer is written with its request's id as soon as it is ready, so in completion order.
 * At most MAX_BATCH_IN_FLIGHT requests of one stream are in progress (answer not yet written);
 * beyond that the node stops reading the stream until some are answered, which holds the client
 * back through HTTP/2 flow control. Each request runs within the stream's deadline when it has
 * one, else within the default deadline (5 s) from when it is read. A request that fails is
 * answered with a BatchError (the code and message a unary call would have thrown, and the
 * partition's leader hint) and the stream goes on; so is a malformed one (no request, id 0, an
 * id still in progress on the stream: InvalidArgument). The stream ends once the client has
 * half-closed and every answer is written. A message is bounded as the unary ones are: one
 * request each, with the same key and value limits.
 *
 * Batch is served twice, with the same answers: on the node's fast path (kvFastBatch: node:http2
 * directly, the hand-written codec, for Connect streaming binary and gRPC uncompressed, which is
 * what the TypeScript client speaks) and by connect-node for everything else (JSON, compression,
 * gRPC-Web), through unordered.ts.
 */

import { setMaxListeners } from "node:events";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { decodeBatchRequest, encodeBatchResponse } from "../../client/batch-codec.js";
import { leaderHintOf } from "../../client/wire.js";
import { type BatchRequest, type BatchResponse, KV, type ResponseHeader } from "../../gen/tinyo/v1/kv_pb.js";
import { type PartitionId, partitionId } from "../ids.js";
import { partitionOf } from "../ring/index.js";
import { invalidArgument, toConnectError } from "./errors.js";
import { type FastMethod, fastUnary } from "./fast-unary.js";
import { ENVELOPE_BYTES, type FastUnorderedStreamMethod } from "./fast-unordered-stream.js";
import { createKvOperations, type KvOperations, type KvServiceDeps } from "./kv-operations.js";
import type { RequestContext } from "./routing.js";
import { answerUnordered } from "./unordered.js";

export { createKvOperations, type KvServiceDeps, MAX_SCAN_BYTES, MAX_SCAN_LIMIT } from "./kv-operations.js";

/** The most requests of one Batch stream in progress at once; beyond, the node stops reading. */
export const MAX_BATCH_IN_FLIGHT = 1000;

/**
 * Put and Get served on the fast path (fast-unary.ts), and Batch (kvFastBatch), by the same
 * operations as the service.
 */
export function kvFastMethods(d: KvServiceDeps, ops: KvOperations): FastMethod[] {
  return [
    fastUnary(KV.method.put, (request, context) => ops.put(request, context)),
    fastUnary(KV.method.get, (request, context) => ops.get(request, context)),
    kvFastBatch(d, ops),
  ];
}

/**
 * KV.Batch on the fast path (fast-unordered-stream.ts): the same answers as the service's
 * batch, decoded and encoded by the hand-written codec (client/batch-codec.ts).
 */
export function kvFastBatch(d: KvServiceDeps, ops: KvOperations): FastUnorderedStreamMethod {
  const answer = batchAnswerer(d, ops);
  return {
    path: `/${KV.typeName}/${KV.method.batch.name}`,
    maxInProgress: MAX_BATCH_IN_FLIGHT,
    answers: (call) => {
      // Each request in progress may listen to the stream's signal (a backoff, a forward).
      setMaxListeners(2 * MAX_BATCH_IN_FLIGHT + 16, call.signal);
      const inProgress = new Set<bigint>();
      return async (payload) => {
        let request: BatchRequest;
        try {
          request = decodeBatchRequest(payload);
        } catch (error) {
          // What connect-node answers for a message it cannot parse.
          throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.Internal);
        }
        return encodeBatchResponse(await answer(request, call, inProgress), ENVELOPE_BYTES);
      };
    },
  };
}

export function createKvService(
  d: KvServiceDeps,
  ops: KvOperations = createKvOperations(d),
): ServiceImpl<typeof KV> {
  const answer = batchAnswerer(d, ops);
  return {
    put: ops.put,
    get: ops.get,
    delete: ops.delete,
    scan: ops.scan,

    batch(requests, context) {
      // Each request in progress may listen to the stream's signal (a backoff, a forward).
      setMaxListeners(2 * MAX_BATCH_IN_FLIGHT + 16, context.signal);
      const inProgress = new Set<bigint>();
      return answerUnordered(
        requests,
        (request) => answer(request, context, inProgress),
        MAX_BATCH_IN_FLIGHT,
      );
    },
  };
}

/**
 * What answers one request of a Batch stream (`inProgress`: the stream's ids awaiting an
 * answer). It never fails: a failure is its answer. The answers are protobuf-es messages built
 * as plain objects, without create().
 */
function batchAnswerer(d: KvServiceDeps, ops: KvOperations) {
  /** The BatchError answer; past validation, with the partition and its leader hint. */
  const failure = (id: bigint, error: ConnectError, partition?: PartitionId): BatchResponse => {
    let header: ResponseHeader | undefined;
    if (partition !== undefined && error.code !== Code.InvalidArgument) {
      const known = d.routing.leaderOf(partition);
      header = {
        $typeName: "tinyo.v1.ResponseHeader",
        partition,
        leader: leaderHintOf(error) ?? known.leader,
        term: BigInt(known.term),
        index: 0n,
      };
    }
    return {
      $typeName: "tinyo.v1.BatchResponse",
      id,
      response: {
        case: "error",
        value: { $typeName: "tinyo.v1.BatchError", code: error.code, message: error.rawMessage, header },
      },
    };
  };

  return async (
    request: BatchRequest,
    context: RequestContext,
    inProgress: Set<bigint>,
  ): Promise<BatchResponse> => {
    const { id } = request;
    if (id === 0n) {
      return failure(id, invalidArgument("a BatchRequest's id must not be 0: choose ids from 1"));
    }
    if (request.request.case === undefined) {
      return failure(
        id,
        invalidArgument(`BatchRequest ${id} carries no request: set one of put, get, delete or scan`),
      );
    }
    if (inProgress.has(id)) {
      return failure(
        id,
        invalidArgument(
          `BatchRequest id ${id} is already in use by a request in progress on this stream: ` +
            "ids must be unique among the requests awaiting an answer",
        ),
      );
    }
    inProgress.add(id);
    try {
      const op = request.request;
      const $typeName = "tinyo.v1.BatchResponse";
      switch (op.case) {
        case "put":
          return { $typeName, id, response: { case: "put", value: await ops.put(op.value, context) } };
        case "get":
          return { $typeName, id, response: { case: "get", value: await ops.get(op.value, context) } };
        case "delete":
          return { $typeName, id, response: { case: "delete", value: await ops.delete(op.value, context) } };
        case "scan":
          return { $typeName, id, response: { case: "scan", value: await ops.scan(op.value, context) } };
      }
    } catch (error) {
      return failure(id, toConnectError(error), partitionOfRequest(request, d.partitions));
    } finally {
      inProgress.delete(id);
    }
  };
}

/** The partition a request is about, when it names one (a key, or a partition in range). */
function partitionOfRequest(request: BatchRequest, partitions: number): PartitionId | undefined {
  const op = request.request;
  switch (op.case) {
    case "put":
    case "get":
    case "delete":
      return op.value.key.length > 0 ? partitionOf(op.value.key, partitions) : undefined;
    case "scan":
      return op.value.partition < partitions ? partitionId(op.value.partition) : undefined;
    default:
      return undefined;
  }
}
