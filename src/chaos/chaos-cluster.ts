/**
 * What the nemesis needs of a cluster's processes: kill and restart, pause and resume nodes.
 * The network faults go through each node's Admin service instead (network-faults.ts), so they
 * do not depend on who runs the processes.
 */
export interface ChaosCluster {
  readonly nodeIds: readonly number[];
  /** host:port of every node, by id order. */
  readonly endpoints: readonly string[];
  address(id: number): string;
  /** The cluster token, which the Admin fault and membership calls carry. */
  readonly token: string;
  /** SIGKILL; resolves once the process is gone. */
  kill(id: number): Promise<void>;
  /** Starts a killed node again from its data directory. */
  restart(id: number): Promise<void>;
  /** SIGSTOP: the process stays, frozen. */
  pause(id: number): Promise<void>;
  /** SIGCONT. */
  resume(id: number): Promise<void>;
}
