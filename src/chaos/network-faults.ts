/**
 * Network partitions through each node's Admin service: SetFaults drops the Raft traffic
 * between a node and the peers on the other side (both ways, on both sides), ClearFaults heals.
 * Client traffic is never cut, so a client can still reach a minority node, which is the point:
 * that node must not answer as if it were current.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { TinyoClient } from "../client/index.js";
import { FaultDirection, Role } from "../gen/tinyo/v1/admin_pb.js";
import { clusterTokenHeaders } from "../node/service/admin-auth.js";
import type { ChaosCluster } from "./chaos-cluster.js";

/** Generous: on a loaded machine a node can take seconds to answer. */
const ADMIN_TIMEOUT_MS = 5000;

export class NetworkFaults {
  constructor(
    private readonly cluster: ChaosCluster,
    private readonly client: TinyoClient,
  ) {}

  /** The options of a call that changes a node: it carries the cluster token. */
  private changing() {
    return { timeoutMs: ADMIN_TIMEOUT_MS, headers: clusterTokenHeaders(this.cluster.token) };
  }

  /** Each node in `cut` drops all Raft traffic with the peers listed for it. */
  async cut(cut: ReadonlyMap<number, readonly number[]>): Promise<void> {
    await Promise.all(
      [...cut].map(([node, peers]) =>
        this.client
          .admin(this.cluster.address(node))
          .setFaults(
            { rules: peers.map((peer) => ({ peer, direction: FaultDirection.BOTH, drop: true })) },
            this.changing(),
          ),
      ),
    );
  }

  /** Clears every node's fault rules; a node that does not answer is reported in the result. */
  async heal(): Promise<number[]> {
    const failed: number[] = [];
    await Promise.all(
      this.cluster.nodeIds.map(async (node) => {
        try {
          await this.client.admin(this.cluster.address(node)).clearFaults({}, this.changing());
        } catch {
          failed.push(node);
        }
      }),
    );
    return failed;
  }

  /** Waits until each of `nodes` answers Admin Status; whether they all did within `timeoutMs`. */
  async waitAnswering(nodes: readonly number[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const waiting = new Set(nodes);
    while (waiting.size > 0 && Date.now() < deadline) {
      for (const node of [...waiting]) {
        try {
          await this.client.admin(this.cluster.address(node)).status({}, { timeoutMs: ADMIN_TIMEOUT_MS });
          waiting.delete(node);
        } catch {
          // not up yet
        }
      }
      if (waiting.size > 0) await sleep(100);
    }
    return waiting.size === 0;
  }

  /**
   * Partitions led per node, as the nodes that answer see themselves; and whether every
   * partition has exactly one node that sees itself as its leader, all nodes answering.
   */
  async leaders(partitions: number): Promise<{ led: Map<number, number>; settled: boolean }> {
    const led = new Map<number, number>();
    const leaderOf = new Map<number, number>();
    let answered = 0;
    await Promise.all(
      this.cluster.nodeIds.map(async (node) => {
        try {
          const { status } = await this.client
            .admin(this.cluster.address(node))
            .status({}, { timeoutMs: ADMIN_TIMEOUT_MS });
          answered++;
          for (const group of status?.groups ?? []) {
            if (group.role !== Role.LEADER) continue;
            led.set(node, (led.get(node) ?? 0) + 1);
            leaderOf.set(group.partition, leaderOf.has(group.partition) ? -1 : node);
          }
        } catch {
          // a node down or paused leads nothing that can be seen
        }
      }),
    );
    const settled =
      answered === this.cluster.nodeIds.length &&
      leaderOf.size === partitions &&
      [...leaderOf.values()].every((node) => node > 0);
    return { led, settled };
  }
}
