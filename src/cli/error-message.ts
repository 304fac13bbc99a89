/**
 * One line for a person from any error a command meets: the cluster manager's own messages as
 * they are, Connect errors with their code and a hint for the usual causes, oclif's parse errors
 * without their "see --help" tail. The exit code: 2 for bad usage, 1 for everything else.
 */

import { Code, ConnectError } from "@connectrpc/connect";
import { Errors } from "@oclif/core";
import { ClusterError, ClusterNameError } from "../cluster/index.js";

export interface RenderedError {
  readonly message: string;
  readonly exitCode: number;
}

/** A bad argument or flag detected by a command itself: exit code 2, like oclif's parse errors. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What the user asked for does not exist (a key): exit code 1, the message as is. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

const CONNECTION_REFUSED = /ECONNREFUSED|ECONNRESET|connect EHOSTUNREACH|socket hang up|fetch failed/i;

export function renderError(error: unknown): RenderedError {
  if (error instanceof UsageError || error instanceof ClusterNameError) {
    return { message: error.message, exitCode: 2 };
  }
  if (error instanceof ClusterError || error instanceof NotFoundError)
    return { message: error.message, exitCode: 1 };
  if (error instanceof ConnectError) return { message: connectMessage(error), exitCode: 1 };
  if (error instanceof Errors.CLIError) {
    // oclif's parse errors (unknown flag, missing argument...) carry what was parsed.
    const exitCode = "parse" in error ? 2 : (error.oclif?.exit ?? 1);
    return { message: firstLine(error.message), exitCode: exitCode === 0 ? 1 : exitCode };
  }
  if (error instanceof Error) return { message: firstLine(error.message), exitCode: 1 };
  return { message: String(error), exitCode: 1 };
}

function connectMessage(error: ConnectError): string {
  const code = Code[error.code] ?? "Unknown";
  const text = firstLine(error.rawMessage);
  if (error.code === Code.Unavailable && CONNECTION_REFUSED.test(error.rawMessage)) {
    return `Unavailable: cannot reach the cluster (${text}); is it running? try \`tinyo cluster status\``;
  }
  if (error.code === Code.DeadlineExceeded) {
    // Seen by a client whose deadline passed while the node still retried: the key's partition
    // has no leader reachable from the node it asked (a network partition, or too many nodes down).
    return `Unavailable: no answer within the deadline (DeadlineExceeded: ${text}); the key's partition has no leader reachable from there (network partition or lost quorum?)`;
  }
  return `${code}: ${text}`;
}

const firstLine = (text: string): string => (text.split("\n")[0] ?? "").trim();
