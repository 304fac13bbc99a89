/**
 * The KV operations, one request each, shared by the unary calls (Put, Get, Delete, Scan) and
 * the Batch stream: validation first (InvalidArgument naming the limit), then routing
 * (routing.ts): a write is proposed to the partition's Raft group at its leader, a read served
 * by a replica after a ReadIndex barrier. Every response carries the header: partition, leader,
 * term, and the log index (a put's index, answered once committed; a delete's, answered once
 * applied; a read's applied index at the replica that answered). Each request counts in the
 * node's InFlight (refused while draining) and, unless another node forwarded it here, in the op
 * stats. Errors are thrown as ConnectErrors.
 *
 * Responses are protobuf-es messages built as plain objects (no create() per request), so that
 * the Batch stream's hand-written codec and connect-node both take them.
 *
 * Consistency: LINEARIZABLE (the default) takes the ReadIndex barrier (a heartbeat round).
 * LEASE is as strong on a leader that holds its lease (docs/raft.md, "Leader leases"): it reads
 * at its commit index without a round; a follower, or a leader without a lease, takes the
 * ReadIndex barrier. STALE reads the replica's applied state without a barrier.
 */

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FORWARDED_HEADER } from "../../client/wire.js";
import {
  Consistency,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  type PutRequest,
  type PutResponse,
  type ResponseHeader,
  type ScanRequest,
  type ScanResponse,
  ScanResponseSchema,
} from "../../gen/tinyo/v1/kv_pb.js";
import { type NodeId, type PartitionId, partitionId } from "../ids.js";
import { partitionOf } from "../ring/index.js";
import { type Command, encodeCommand, MAX_KEY_BYTES, validateKey } from "../storage/commands.js";
import type { StateMachine } from "../storage/state-machine.js";
import type { Store } from "../store/store.js";
import type { ApplyOutcomes } from "./apply-outcomes.js";
import { invalidArgument, toConnectError } from "./errors.js";
import type { InFlight } from "./in-flight.js";
import type { OpStats } from "./op-stats.js";
import type { PeerClients } from "./peer-clients.js";
import type { RequestContext, Routing } from "./routing.js";

/** The most pairs one Scan returns. */
export const MAX_SCAN_LIMIT = 10_000;
/** A Scan stops early (more = true) once its pairs reach about this many bytes. */
export const MAX_SCAN_BYTES = 4 * 1024 * 1024;

const EMPTY = new Uint8Array(0);

export interface KvServiceDeps {
  readonly self: NodeId;
  readonly partitions: number;
  readonly store: Store;
  readonly stateMachine: StateMachine;
  readonly outcomes: ApplyOutcomes;
  readonly routing: Routing;
  readonly peers: PeerClients;
  readonly inFlight: InFlight;
  readonly stats: { readonly puts: OpStats; readonly gets: OpStats };
}

/** One request each; `context` is the call's (a unary call's, or the Batch stream's). */
export interface KvOperations {
  put(request: PutRequest, context: RequestContext): Promise<PutResponse>;
  get(request: GetRequest, context: RequestContext): Promise<GetResponse>;
  delete(request: DeleteRequest, context: RequestContext): Promise<DeleteResponse>;
  scan(request: ScanRequest, context: RequestContext): Promise<ScanResponse>;
}

export function createKvOperations(d: KvServiceDeps): KvOperations {
  /** The header of an answer given here: what this replica knows of the partition now. */
  const header = (partition: PartitionId, index: number): ResponseHeader => {
    const status = d.store.groupStatus(partition);
    return {
      $typeName: "tinyo.v1.ResponseHeader",
      partition,
      leader: status?.leader ?? 0,
      term: BigInt(status?.term ?? 0),
      index: BigInt(index),
    };
  };

  /** Runs one request: refused while draining, timed when the client sent it here, errors mapped. */
  const serve = async <T>(context: RequestContext, stats: OpStats, work: () => Promise<T>): Promise<T> => {
    const done = context.requestHeader.has(FORWARDED_HEADER) ? undefined : stats.start();
    try {
      const result = await d.inFlight.run(work);
      done?.();
      return result;
    } catch (error) {
      throw toConnectError(error);
    }
  };

  /** Proposes a delete here (this node leads) and waits for it to apply: it answers what it found. */
  const proposeDelete = async (partition: PartitionId, command: Command) => {
    const applied = await d.store.propose(partition, encodeCommand(command), "apply");
    const outcome = d.outcomes.outcomeOf(partition, applied.index);
    if (outcome?.kind === "rejected") {
      throw new ConnectError(`the write was refused by the state machine: ${outcome.reason}`, Code.Internal);
    }
    const index = outcome?.kind === "duplicate" ? outcome.appliedAt : applied.index;
    const existed =
      outcome?.kind === "delete" || outcome?.kind === "duplicate" ? (outcome.existed ?? false) : false;
    return { header: header(partition, index), existed };
  };

  /** Waits until reading this replica is as consistent as asked. */
  const readBarrier = async (partition: PartitionId, consistency: Consistency): Promise<void> => {
    if (consistency === Consistency.STALE) return;
    if (consistency === Consistency.LEASE) await d.store.leaseReadBarrier(partition);
    else await d.store.readBarrier(partition);
  };

  /** Remembers the leader named by a forwarded answer. */
  const learn = <R extends { header?: ResponseHeader }>(response: R): R => {
    const h = response.header;
    if (h) d.routing.noteLeader(partitionId(h.partition), h.leader, Number(h.term));
    return response;
  };

  return {
    put(request, context) {
      return serve(context, d.stats.puts, async () => {
        const command: Command = {
          type: "put",
          key: request.key,
          value: request.value,
          requestId: requestIdOf(request.requestId),
        };
        encodeCommand(command); // validates: InvalidArgument before any routing
        const partition = partitionOf(request.key, d.partitions);
        return d.routing.write(
          d.routing.route(partition, context),
          async (): Promise<PutResponse> => {
            // Answered at commit: a put's result does not depend on the state it applies to, and
            // every later linearizable read waits for the apply. A retry that the apply will find
            // to be a duplicate is answered with its own (later) index; it is applied only once.
            const committed = await d.store.propose(partition, encodeCommand(command), "commit");
            return { $typeName: "tinyo.v1.PutResponse", header: header(partition, committed.index) };
          },
          async (to, call) => learn(await d.peers.kv(to).put(request, call)),
        );
      });
    },

    delete(request, context) {
      return serve(context, d.stats.puts, async () => {
        const command: Command = {
          type: "delete",
          key: request.key,
          requestId: requestIdOf(request.requestId),
        };
        encodeCommand(command);
        const partition = partitionOf(request.key, d.partitions);
        return d.routing.write(
          d.routing.route(partition, context),
          async (): Promise<DeleteResponse> => ({
            $typeName: "tinyo.v1.DeleteResponse",
            ...(await proposeDelete(partition, command)),
          }),
          async (to, call) => learn(await d.peers.kv(to).delete(request, call)),
        );
      });
    },

    get(request, context) {
      return serve(context, d.stats.gets, async () => {
        validateKey(request.key);
        const partition = partitionOf(request.key, d.partitions);
        return d.routing.read(
          d.routing.route(partition, context),
          async (): Promise<GetResponse> => {
            await readBarrier(partition, request.consistency);
            const index = d.stateMachine.appliedIndex(partition);
            const value = await d.stateMachine.get(partition, request.key);
            return {
              $typeName: "tinyo.v1.GetResponse",
              header: header(partition, index),
              found: value !== undefined,
              value: value ?? EMPTY,
            };
          },
          async (to, call) => learn(await d.peers.kv(to).get(request, call)),
        );
      });
    },

    scan(request, context) {
      return serve(context, d.stats.gets, async () => {
        const limit = scanLimit(request, d.partitions);
        const partition = partitionId(request.partition);
        return d.routing.read(
          d.routing.route(partition, context),
          async () => {
            await readBarrier(partition, request.consistency);
            const index = d.stateMachine.appliedIndex(partition);
            const range = scanRange(request);
            if (range === undefined) return create(ScanResponseSchema, { header: header(partition, index) });
            const result = await d.stateMachine.scan(partition, range, limit);
            // Stay under MAX_SCAN_BYTES: cut after the pair that crosses it (at least one pair).
            let bytes = 0;
            let count = 0;
            while (count < result.entries.length && bytes < MAX_SCAN_BYTES) {
              const pair = result.entries[count++];
              if (pair) bytes += pair.key.length + pair.value.length;
            }
            const pairs = result.entries.slice(0, count);
            const more = result.more || count < result.entries.length;
            const last = pairs[pairs.length - 1];
            return create(ScanResponseSchema, {
              header: header(partition, index),
              pairs,
              more,
              resumeKey: more && last ? successor(last.key) : EMPTY,
            });
          },
          async (to, call) => learn(await d.peers.kv(to).scan(request, call)),
        );
      });
    },
  };
}

/** An empty request id means none. */
function requestIdOf(bytes: Uint8Array): Uint8Array | undefined {
  return bytes.length === 0 ? undefined : bytes;
}

function scanLimit(request: ScanRequest, partitions: number): number {
  if (request.partition >= partitions) {
    throw invalidArgument(
      `partition ${request.partition} does not exist: partitions are 0 to ${partitions - 1}`,
    );
  }
  if (request.limit > MAX_SCAN_LIMIT) {
    throw invalidArgument(
      `the scan limit is ${request.limit}: a scan returns at most ${MAX_SCAN_LIMIT} pairs; ` +
        "page with more and resume_key",
    );
  }
  for (const [name, bytes] of [
    ["start", request.start],
    ["end", request.end],
    ["prefix", request.prefix],
  ] as const) {
    if (bytes.length > MAX_KEY_BYTES + 1) {
      throw invalidArgument(
        `the scan's ${name} is ${bytes.length} bytes: keys are at most ${MAX_KEY_BYTES} bytes`,
      );
    }
  }
  return request.limit === 0 ? MAX_SCAN_LIMIT : request.limit;
}

/** [start, end) narrowed to the prefix; undefined when nothing can match. */
function scanRange(request: ScanRequest): { start?: Uint8Array; end?: Uint8Array } | undefined {
  let start: Uint8Array | undefined = request.start.length > 0 ? request.start : undefined;
  let end: Uint8Array | undefined = request.end.length > 0 ? request.end : undefined;
  if (request.prefix.length > 0) {
    if (start === undefined || Buffer.compare(start, request.prefix) < 0) start = request.prefix;
    const prefixEnd = prefixSuccessor(request.prefix);
    if (prefixEnd !== undefined && (end === undefined || Buffer.compare(prefixEnd, end) < 0)) end = prefixEnd;
  }
  if (start !== undefined && end !== undefined && Buffer.compare(start, end) >= 0) return undefined;
  return { start, end };
}

/** The smallest key greater than `key`: key + 0x00. */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** The smallest key greater than every key that starts with `prefix`; undefined if none (all 0xff). */
function prefixSuccessor(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if ((prefix[i] as number) < 0xff) {
      const out = prefix.slice(0, i + 1);
      out[i] = (out[i] as number) + 1;
      return out;
    }
  }
  return undefined;
}
