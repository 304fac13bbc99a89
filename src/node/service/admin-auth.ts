/**
 * Who may change a node through tinyo.v1.Admin: whoever presents the cluster token (the one the
 * Raft peers present to each other) in the `tinyo-cluster-token` request header. The read-only
 * methods (status, routes) stay open, for dashboards and clients; every other method, including
 * any added later, is refused with Unauthenticated without the token, before its handler runs.
 */

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { ClusterToken } from "../transport/cluster-token.js";

export const CLUSTER_TOKEN_HEADER = "tinyo-cluster-token";

/** The Admin methods that change nothing: served to anyone who reaches the port. */
export const OPEN_ADMIN_METHODS: ReadonlySet<string> = new Set(["Status", "WatchStatus", "Routes"]);

/** The server side: refuses a state-changing Admin call whose token is missing or wrong. */
export function requireClusterToken(token: ClusterToken, self: number): Interceptor {
  return (next) => async (request) => {
    if (OPEN_ADMIN_METHODS.has(request.method.name)) return next(request);
    const given = request.header.get(CLUSTER_TOKEN_HEADER);
    if (given === null || !token.matches(given)) {
      throw new ConnectError(
        `node ${self} refuses Admin.${request.method.name} ${given === null ? "without" : "with a wrong"} ` +
          `cluster token: send the cluster's token in the ${CLUSTER_TOKEN_HEADER} header ` +
          "(the CLI reads it from cluster.json; a node uses its --token)",
        Code.Unauthenticated,
      );
    }
    return next(request);
  };
}

/** The client side, for a transport that only makes Admin calls: every request carries the token. */
export function sendClusterToken(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set(CLUSTER_TOKEN_HEADER, token);
    return next(request);
  };
}

/** The same for one call on a shared transport: its `headers` call option. */
export function clusterTokenHeaders(token: string): Headers {
  return new Headers({ [CLUSTER_TOKEN_HEADER]: token });
}
