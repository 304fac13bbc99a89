/**
 * k/r/p for a local cluster: requests to its supervisor through the cluster-control API, and the
 * supervisor's view of each process (paused, stopped) fed to the dashboard once a second, which
 * is how it tells PAUSED from a node that merely stopped answering.
 */

import type { ClusterControl, NodeProcessStatus } from "../../cluster/index.js";
import type { NodeControls } from "./controls.js";
import type { TopAction } from "./reducer.js";

const POLL_MS = 1000;

type ProcessState = Extract<TopAction, { type: "process" }>["process"];

function processState(state: NodeProcessStatus["state"]): ProcessState {
  if (state === "paused") return "paused";
  if (state === "killed" || state === "stopped" || state === "backoff" || state === "down") return "stopped";
  return "running"; // running, stopping (still serving), orphaned (alive, unsupervised)
}

export function clusterControls(control: ClusterControl, dispatch: (a: TopAction) => void): NodeControls {
  return {
    unavailable: () => undefined,
    async run(action, node) {
      if (action === "kill") {
        await control.kill(node.id);
        dispatch({ type: "process", at: Date.now(), node: node.id, process: "stopped" });
        return `node ${node.id} killed (SIGKILL); it stays down until restarted (r)`;
      }
      if (action === "restart") {
        await control.restart(node.id);
        return `node ${node.id} restarted`;
      }
      const paused = node.state === "PAUSED";
      await (paused ? control.resume(node.id) : control.pause(node.id));
      dispatch({ type: "process", at: Date.now(), node: node.id, process: paused ? "running" : "paused" });
      return `node ${node.id} ${paused ? "resumed" : "paused"}`;
    },
  };
}

/** Dispatches the supervisor's process states as they change, until `signal` aborts. */
export function watchProcesses(
  control: ClusterControl,
  dispatch: (a: TopAction) => void,
  signal: AbortSignal,
): void {
  const known = new Map<number, ProcessState>();
  const poll = () => {
    let nodes: readonly NodeProcessStatus[];
    try {
      nodes = control.status().nodes;
    } catch {
      return; // the supervisor's files are being rewritten; next time
    }
    for (const n of nodes) {
      const state = processState(n.state);
      if (known.get(n.id) === state) continue;
      known.set(n.id, state);
      dispatch({ type: "process", at: Date.now(), node: n.id, process: state });
    }
  };
  poll();
  const timer = setInterval(poll, POLL_MS);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
