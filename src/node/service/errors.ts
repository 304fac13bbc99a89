/**
 * Turning whatever went wrong into a Connect error a person can act on: a code that says what
 * the client should do (InvalidArgument: fix the request; Unavailable: retry, maybe elsewhere;
 * Internal: report it) and a message without a stack trace. An Unavailable error about a
 * partition carries the leader hint in its metadata (client/wire.ts) so that the caller can
 * route its retry.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import { LEADER_HINT_HEADER, PARTITION_HEADER } from "../../client/wire.js";
import type { NodeId, PartitionId } from "../ids.js";
import { InvalidCommandError, MalformedCommandError } from "../storage/commands.js";
import { RaftEngineFailedError } from "../storage/log-errors.js";
import {
  InvalidCallError,
  StateMachineClosedError,
  StateMachineFailedError,
} from "../storage/state-machine-errors.js";
import {
  NotLeaderError,
  NotReplicaError,
  ProposalDroppedError,
  ProposalOutcomeUnknownError,
  StoreClosedError,
} from "../store/errors.js";

/** A request the client must change: InvalidArgument with `message`. */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Unavailable about one partition, with the leader hint (0 when unknown) in the metadata. */
export function unavailable(message: string, partition: PartitionId, leader: NodeId | 0): ConnectError {
  const metadata = new Headers({
    [PARTITION_HEADER]: String(partition),
    [LEADER_HINT_HEADER]: String(leader),
  });
  return new ConnectError(message, Code.Unavailable, metadata);
}

/** Errors that a retry (here or at another node) may cure: the store said "not now". */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NotLeaderError || error instanceof ProposalDroppedError) return true;
  return error instanceof ConnectError && error.code === Code.Unavailable;
}

/** Maps any error to a ConnectError with a clear message and no stack trace. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidCommandError) return invalidArgument(error.message);
  if (error instanceof NotLeaderError) return unavailable(error.message, error.partition, error.leader);
  if (error instanceof ProposalDroppedError)
    return unavailable(`${error.message}; retry`, error.partition, 0);
  // Not retried here (a write without a request id could apply twice): the client decides.
  if (error instanceof ProposalOutcomeUnknownError) return unavailable(error.message, error.partition, 0);
  if (error instanceof NotReplicaError) return new ConnectError(error.message, Code.FailedPrecondition);
  if (error instanceof StoreClosedError || error instanceof StateMachineClosedError) {
    return new ConnectError(error.message, Code.Unavailable);
  }
  if (
    error instanceof StateMachineFailedError ||
    error instanceof RaftEngineFailedError ||
    error instanceof MalformedCommandError ||
    error instanceof InvalidCallError
  ) {
    return new ConnectError(`storage error: ${error.message}`, Code.Internal);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectError(`internal error: ${message}`, Code.Internal);
}
