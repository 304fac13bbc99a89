/**
 * One Admin.WatchStatus stream per node, kept open while the dashboard runs: each status is
 * dispatched as it arrives; a failed stream is reported and retried with backoff (250 ms doubling
 * to 4 s, reset by the next status); a stream that delivers nothing for SILENT_MS (a paused or
 * wedged node) is reported silent and replaced on a fresh HTTP/2 session.
 *
 * The member list follows the cluster: every status carries the member list its node applies
 * and the metadata index it read it at (membership_version). A status with a newer list that
 * names other nodes is dispatched as a "members" change (with the partitions' new replicas, from
 * that node's Admin.Routes), nodes that joined are watched from then on, and nodes that left are
 * watched until their stream fails, when they are "gone" (a removed node still hands its
 * replicas and leaderships over before `cluster remove` stops it).
 */

import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin, type NodeStatus } from "../../gen/tinyo/v1/admin_pb.js";
import { statusView } from "./model.js";
import type { TopAction } from "./reducer.js";

export const WATCH_INTERVAL_MS = 500;
/** Generous: a loaded machine delays statuses by seconds, and a false alarm is an event. */
const SILENT_MS = 12 * WATCH_INTERVAL_MS;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 4000;
const ROUTES_TIMEOUT_MS = 5000;

export interface Member {
  readonly id: number;
  readonly address: string;
}

/** Watches the members, and whoever joins later, until `signal` aborts; resolves once all stopped. */
export function watchCluster(
  members: readonly Member[],
  dispatch: (action: TopAction) => void,
  signal: AbortSignal,
): Promise<void> {
  return new ClusterWatch(dispatch, signal).run(members);
}

class ClusterWatch {
  /** Node ids in the member list; a watched node not in it is watched until its stream fails. */
  private members = new Set<number>();
  private readonly watching = new Map<number, Promise<void>>();
  /** The membership_version of the newest member list seen; -1 before any. */
  private version = -1n;
  /** Member list changes are applied one at a time, in the order seen. */
  private changes: Promise<void> = Promise.resolve();

  constructor(
    private readonly dispatch: (action: TopAction) => void,
    private readonly signal: AbortSignal,
  ) {}

  async run(members: readonly Member[]): Promise<void> {
    this.members = new Set(members.map((m) => m.id));
    for (const m of members) this.watch(m);
    await new Promise<void>((resolve) => {
      if (this.signal.aborted) resolve();
      else this.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await this.changes;
    // A change applied last may have started watchers: wait until no new one appears.
    while (this.watching.size > 0) await Promise.all(this.watching.values());
  }

  private watch(member: Member): void {
    if (this.watching.has(member.id) || this.signal.aborted) return;
    const done = watchNode(member, this, this.signal).finally(() => this.watching.delete(member.id));
    this.watching.set(member.id, done);
  }

  onStatus(status: NodeStatus): void {
    this.dispatch({ type: "status", at: Date.now(), status: statusView(status) });
    if (status.membershipVersion <= this.version) return;
    this.version = status.membershipVersion;
    const members = status.members.map((m) => ({ id: m.node, address: m.address }));
    const same = members.length === this.members.size && members.every((m) => this.members.has(m.id));
    if (same || members.length === 0) return;
    const version = status.membershipVersion;
    this.changes = this.changes.then(() => this.changeMembers(members, status.address, version));
  }

  /** Whether to watch the node again after its stream ended; reports it either way. */
  onEnd(member: Member, silent: boolean): boolean {
    const at = Date.now();
    if (!this.members.has(member.id)) {
      this.dispatch({ type: "gone", at, node: member.id });
      return false;
    }
    this.dispatch(silent ? { type: "silent", at, node: member.id } : { type: "failed", at, node: member.id });
    return true;
  }

  private async changeMembers(members: readonly Member[], via: string, version: bigint): Promise<void> {
    // A newer list arrived while the routes of this one were read: that one is applied next.
    if (version < this.version || this.signal.aborted) return;
    const partitions = await routesOf(via).catch(() => undefined);
    if (version < this.version || this.signal.aborted) return;
    this.members = new Set(members.map((m) => m.id));
    this.dispatch({ type: "members", at: Date.now(), members, partitions });
    for (const m of members) this.watch(m);
  }
}

/** The partitions' replicas as the node at `address` places them. */
async function routesOf(address: string) {
  const sessions = new Http2SessionManager(`http://${address}`);
  try {
    const admin = createClient(Admin, transportOf(address, sessions));
    const routes = await admin.routes({}, { timeoutMs: ROUTES_TIMEOUT_MS });
    return routes.routes.map((r) => ({ id: r.partition, replicas: [...r.replicas] }));
  } finally {
    sessions.abort();
  }
}

const transportOf = (address: string, sessions: Http2SessionManager) =>
  createConnectTransport({ baseUrl: `http://${address}`, httpVersion: "2", sessionManager: sessions });

async function watchNode(member: Member, watch: ClusterWatch, signal: AbortSignal) {
  let backoff = BACKOFF_MIN_MS;
  while (!signal.aborted) {
    const sessions = new Http2SessionManager(`http://${member.address}`);
    const admin = createClient(Admin, transportOf(member.address, sessions));
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
        if (response.status) watch.onStatus(response.status);
      }
    } catch {
      // Reported below: the dashboard shows the node's state, not the transport's error.
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", stop);
      sessions.abort();
    }
    if (signal.aborted || !watch.onEnd(member, silent)) return;
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
