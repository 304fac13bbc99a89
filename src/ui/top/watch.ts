/**
 * One Admin.WatchStatus stream per node, kept open while the dashboard runs: each status is
 * dispatched as it arrives; a failed stream is reported and retried with backoff (250 ms doubling
 * to 4 s, reset by the next status); a stream that delivers nothing for SILENT_MS (a paused or
 * wedged node) is reported silent and replaced on a fresh HTTP/2 session.
 */

import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin } from "../../gen/tinyo/v1/admin_pb.js";
import { statusView } from "./model.js";
import type { TopAction } from "./reducer.js";

export const WATCH_INTERVAL_MS = 500;
/** Generous: a loaded machine delays statuses by seconds, and a false alarm is an event. */
const SILENT_MS = 12 * WATCH_INTERVAL_MS;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 4000;

export interface Member {
  readonly id: number;
  readonly address: string;
}

/** Watches every member until `signal` aborts. */
export function watchNodes(
  members: readonly Member[],
  dispatch: (action: TopAction) => void,
  signal: AbortSignal,
): Promise<void> {
  return Promise.all(members.map((m) => watchNode(m, dispatch, signal))).then(() => {});
}

async function watchNode(member: Member, dispatch: (a: TopAction) => void, signal: AbortSignal) {
  let backoff = BACKOFF_MIN_MS;
  while (!signal.aborted) {
    const sessions = new Http2SessionManager(`http://${member.address}`);
    const admin = createClient(
      Admin,
      createConnectTransport({
        baseUrl: `http://${member.address}`,
        httpVersion: "2",
        sessionManager: sessions,
      }),
    );
    const call = new AbortController();
    const stop = () => call.abort();
    signal.addEventListener("abort", stop, { once: true });
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        call.abort();
      }, SILENT_MS);
    };
    arm();
    try {
      for await (const response of admin.watchStatus(
        { intervalMs: WATCH_INTERVAL_MS },
        { signal: call.signal },
      )) {
        arm();
        backoff = BACKOFF_MIN_MS;
        if (response.status)
          dispatch({ type: "status", at: Date.now(), status: statusView(response.status) });
      }
    } catch {
      // Reported below: the dashboard shows the node's state, not the transport's error.
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", stop);
      sessions.abort();
    }
    if (signal.aborted) return;
    dispatch(
      silent
        ? { type: "silent", at: Date.now(), node: member.id }
        : { type: "failed", at: Date.now(), node: member.id },
    );
    await new Promise((resolve) => {
      const t = setTimeout(resolve, backoff);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve(undefined);
        },
        { once: true },
      );
    });
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }
}
