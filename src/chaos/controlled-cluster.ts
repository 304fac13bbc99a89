/**
 * A `tinyo cluster up` cluster as the nemesis sees it: its processes are the supervisor's, so
 * every action is a request through the cluster-control API (src/cluster/control.ts). A node
 * killed here stays down until restarted here, as `tinyo kill` leaves it.
 */

import type { ClusterControl } from "../cluster/index.js";
import type { ChaosCluster } from "./chaos-cluster.js";

export class ControlledCluster implements ChaosCluster {
  constructor(private readonly control: ClusterControl) {}

  get nodeIds(): number[] {
    return this.control.nodeIds;
  }

  get endpoints(): string[] {
    return this.control.endpoints;
  }

  get token(): string {
    return this.control.spec.token;
  }

  address(id: number): string {
    return this.control.address(id);
  }

  async kill(id: number): Promise<void> {
    await this.control.kill(id, "SIGKILL");
  }

  async restart(id: number): Promise<void> {
    await this.control.start(id);
  }

  async pause(id: number): Promise<void> {
    await this.control.pause(id);
  }

  async resume(id: number): Promise<void> {
    await this.control.resume(id);
  }
}
