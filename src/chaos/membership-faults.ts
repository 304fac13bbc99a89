/**
 * Membership changes as faults, through the Admin service of the running nodes: a node is taken
 * out of the member list (RemoveMember) while its process keeps running, and added back (Join,
 * at the same address) at the heal. Its replicas move away and back meanwhile, one Raft change
 * at a time, while the workload runs.
 */

import type { TinyoClient } from "../client/index.js";
import { clusterTokenHeaders } from "../node/service/admin-auth.js";
import type { ChaosCluster } from "./chaos-cluster.js";

/** Generous: a membership change waits for the metadata group's leader and a commit. */
const ADMIN_TIMEOUT_MS = 15_000;

export interface ClusterSettings {
  readonly partitions: number;
  readonly replication: number;
  readonly vnodes: number;
}

export class MembershipFaults {
  constructor(
    private readonly cluster: ChaosCluster,
    private readonly client: TinyoClient,
    private readonly settings: ClusterSettings,
  ) {}

  /** The options of a membership call: it carries the cluster token. */
  private changing() {
    return { timeoutMs: ADMIN_TIMEOUT_MS, headers: clusterTokenHeaders(this.cluster.token) };
  }

  /** Removes `node` from the member list, asking node `via` (any forwards to the leader). */
  async remove(node: number, via: number): Promise<void> {
    await this.client.admin(this.cluster.address(via)).removeMember({ node }, this.changing());
  }

  /** Adds `node` back at its address; a failure is retried through each other node in turn, twice. */
  async addBack(node: number): Promise<void> {
    let last: unknown;
    const others = this.cluster.nodeIds.filter((n) => n !== node);
    for (const via of [...others, ...others]) {
      try {
        await this.client
          .admin(this.cluster.address(via))
          .join({ node, address: this.cluster.address(node), ...this.settings }, this.changing());
        return;
      } catch (error) {
        last = error;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }
}
