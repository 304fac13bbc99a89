/**
 * Did a failed operation take effect? The answer decides whether the history records it as
 * `failed` (certainly not) or `indeterminate` (maybe, at any time from its invocation on).
 * Calling an uncertain failure definite could convict a correct store; calling a definite one
 * indeterminate only weakens the check a little. So only what is certain is called definite.
 *
 * How TinyoClient fails (src/client/tinyo-client.ts, src/node/service/errors.ts, routing.ts):
 * - A put is validated by the node before any routing (encodeCommand): InvalidArgument means it
 *   was never proposed. Definite.
 * - Every other error of a put is what the LAST attempt saw. The client retries Unavailable
 *   (no leader, leader moved, node down, "dropped by a change of leader") at other nodes with
 *   the same request id until the deadline, so an earlier attempt may sit in some leader's log
 *   and commit later, even when the last attempt's message says "did not take effect". And
 *   DeadlineExceeded, a broken connection or a node that died mid-call happen after the request
 *   left. So they are all indeterminate. A "not leader" seen before anything was sent would be
 *   definite, but the client never surfaces one: it retries it; and the chaos workload gives
 *   the client the partition count up front, so no put fails before its first attempt is sent.
 * - A get changes nothing: whatever its error, it is recorded as failed and the checker ignores
 *   it (an indeterminate read constrains nothing either).
 */

import { Code, ConnectError } from "@connectrpc/connect";
import type { Outcome } from "./history.js";

export type Classified = { readonly outcome: Exclude<Outcome, "ok">; readonly error: string };

export function classifyFailure(kind: "put" | "get", error: unknown): Classified {
  const err = ConnectError.from(error);
  const text = `${Code[err.code]}: ${err.rawMessage}`;
  if (kind === "get" || err.code === Code.InvalidArgument) return { outcome: "failed", error: text };
  return { outcome: "indeterminate", error: text };
}
