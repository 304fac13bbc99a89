/**
 * A new node's admission: it asks the members it was given (--join), in turn, until one answers
 * (any member forwards the request to the metadata leader). The answer carries the member list
 * and the cluster's placement settings, which must be this node's own. Join changes the cluster,
 * so it carries the cluster token (this node's --token): a node started without the cluster's
 * token is refused (Unauthenticated), and gives up at once rather than retry.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Admin, type JoinResponse } from "../../gen/tinyo/v1/admin_pb.js";
import { type NodeId, nodeId } from "../ids.js";
import { sendClusterToken } from "../service/admin-auth.js";
import type { MemberList } from "./member-records.js";
import type { PlacementSettings } from "./membership.js";

/** The cluster did not admit this node; the message says why. */
export class JoinError extends Error {
  override name = "JoinError";
}

export interface Joiner {
  /** host:port of the members to ask (--join). */
  readonly seeds: readonly string[];
  readonly self: NodeId;
  /** Where the members reach this node. */
  readonly address: string;
  /** The cluster token this node was given. */
  readonly token: string;
}

export async function joinCluster(
  { seeds, self, address, token }: Joiner,
  settings: PlacementSettings,
  timeoutMs: number,
): Promise<MemberList> {
  const deadline = Date.now() + timeoutMs;
  let last = "no member answered";
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const seed = seeds[attempt % seeds.length] as string;
    const sessions = new Http2SessionManager(`http://${seed}`);
    try {
      const transport = createConnectTransport({
        baseUrl: `http://${seed}`,
        httpVersion: "2",
        sessionManager: sessions,
        interceptors: [sendClusterToken(token)],
      });
      const answer = await createClient(Admin, transport).join(
        { node: self, address, ...settings },
        { timeoutMs: Math.max(1, Math.min(10_000, deadline - Date.now())) },
      );
      checkSettings(answer, settings);
      return new Map(answer.members.map((m) => [nodeId(m.node), m.address]));
    } catch (error) {
      if (error instanceof JoinError) throw error;
      const err = ConnectError.from(error);
      // Refusals that another attempt would not change.
      if (err.code === Code.Unauthenticated)
        throw new JoinError(
          `${seed} refused the join: this node's --token (or TINYO_TOKEN) is not the cluster's: ` +
            "start it with the token the members were started with",
        );
      if (err.code === Code.InvalidArgument || err.code === Code.FailedPrecondition)
        throw new JoinError(`${seed} refused the join: ${err.rawMessage}`);
      last = `${seed}: ${err.rawMessage}`;
    } finally {
      sessions.abort();
    }
    await sleep(Math.min(200 * (attempt + 1), 1000));
  }
  throw new JoinError(`could not join the cluster through ${seeds.join(", ")} in time (${last})`);
}

function checkSettings(answer: JoinResponse, settings: PlacementSettings): void {
  for (const key of ["partitions", "replication", "vnodes"] as const) {
    if (answer[key] !== settings[key]) {
      throw new JoinError(
        `the cluster runs with --${key} ${answer[key]}, this node was started with ${settings[key]}: ` +
          `start it with --${key} ${answer[key]}`,
      );
    }
  }
}
