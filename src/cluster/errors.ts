/**
 * Errors of the cluster manager meant for a person: the message says what is wrong and how to
 * fix it, and is printed as is (one line, no stack trace).
 */

export class ClusterError extends Error {
  override name = "ClusterError";
}

/** No supervisor and no node of the cluster is alive (or the cluster was never created). */
export class ClusterNotRunningError extends ClusterError {
  override name = "ClusterNotRunningError";
  constructor(readonly cluster: string) {
    super(
      `no cluster '${cluster}' is running; start one with \`tinyo cluster up${cluster === "default" ? "" : ` --cluster ${cluster}`}\``,
    );
  }
}

/** A node id that is not a member of the cluster. */
export class UnknownNodeError extends ClusterError {
  override name = "UnknownNodeError";
  constructor(id: string | number, members: readonly number[]) {
    super(`there is no node ${id} in this cluster (its nodes are ${members.join(", ")})`);
  }
}
