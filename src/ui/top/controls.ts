/**
 * What k/r/p do to the selected node. With a cluster manager they go through its control API;
 * without one (`--endpoints`), a node on this machine can still be killed, paused and resumed
 * by signalling the pid it reports, but not restarted (nothing here knows how it was started).
 */

import type { NodeEntry } from "./model.js";
import type { TopAction } from "./reducer.js";

export type NodeAction = "kill" | "restart" | "pause";

export interface NodeControls {
  /** Why an action cannot be done on this node, or undefined when it can. */
  unavailable(action: NodeAction, node: NodeEntry): string | undefined;
  /** Does it; resolves with a line for the footer, rejects with one. */
  run(action: NodeAction, node: NodeEntry): Promise<string>;
}

const LOOPBACK = /^(127\.[0-9.]+|localhost|\[::1\]):[0-9]+$/;

export function signalControls(dispatch: (action: TopAction) => void): NodeControls {
  const unavailable = (action: NodeAction, node: NodeEntry): string | undefined => {
    if (action === "restart") {
      return "restart needs a cluster started by `tinyo cluster up` (nodes given by --endpoints cannot be restarted from here)";
    }
    if (!LOOPBACK.test(node.address))
      return `node ${node.id} is not on this machine: only local nodes can be signalled`;
    if (!node.status?.pid) return `node ${node.id} has not reported its pid yet`;
    return undefined;
  };
  return {
    unavailable,
    async run(action, node) {
      const why = unavailable(action, node);
      if (why) throw new Error(why);
      const pid = node.status?.pid as number;
      const resume = action === "pause" && node.state === "PAUSED";
      const signal = action === "kill" ? "SIGKILL" : resume ? "SIGCONT" : "SIGSTOP";
      try {
        process.kill(pid, signal);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(
          `cannot signal node ${node.id} (pid ${pid}): ${code === "ESRCH" ? "no such process" : code}`,
        );
      }
      const at = Date.now();
      if (action === "kill") dispatch({ type: "process", at, node: node.id, process: "stopped" });
      else dispatch({ type: "process", at, node: node.id, process: resume ? "running" : "paused" });
      const done = action === "kill" ? "killed" : resume ? "resumed" : "paused";
      return `node ${node.id} ${done} (${signal} to pid ${pid})`;
    },
  };
}
