/**
 * The local cluster manager: the cluster directory, the supervisor and the control API that
 * commands, the dashboard and the chaos nemesis use. docs/cli.md describes it.
 */

export { type ClusterDownResult, clusterDown } from "./cluster-down.js";
export { type ClusterUpOptions, type ClusterUpResult, clusterUp } from "./cluster-up.js";
export {
  ClusterControl,
  type ClusterRef,
  type ClusterStatus,
  type NodeProcessStatus,
  type StopSignal,
} from "./control.js";
export { ClusterError, ClusterNotRunningError, UnknownNodeError } from "./errors.js";
export {
  applyPartition,
  type FaultOutcome,
  healPartition,
  type PartitionPlan,
  planPartition,
} from "./faults.js";
export { ClusterNameError, type ClusterPaths, clusterPaths, DEFAULT_CLUSTER, tinyoHome } from "./paths.js";
export { agreedLeaders, leadersHeld, type NodeEndpoint, nodeStatuses } from "./readiness.js";
export { parseEndpoints, type ResolvedCluster, type ResolveOptions, resolveCluster } from "./resolve.js";
export { type ClusterMember, type ClusterSettings, type ClusterSpec, SPEC_DEFAULTS } from "./spec.js";
export type { NodeState } from "./state.js";
export { runSupervisor } from "./supervisor-main.js";
