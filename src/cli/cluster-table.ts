/** The node table of `cluster up` and `cluster status`. */

import type { ClusterStatus } from "../cluster/index.js";
import type { MoveProgress } from "../cluster/membership.js";
import { formatTable } from "./table.js";

/**
 * One row per node; with `moves`, also the replicas each node holds, the learners among them
 * (replicas still catching up) and the moves it drives as a leader.
 */
export function printClusterTable(
  print: (line: string) => void,
  status: ClusterStatus,
  leadersHeld: ReadonlyMap<number, number>,
  moves?: MoveProgress & { readonly inFlightBy: ReadonlyMap<number, number> },
): void {
  const rows = status.nodes.map((node) => {
    const row = [
      String(node.id),
      node.address,
      node.pid === null ? "-" : String(node.pid),
      node.state,
      node.pid === null ? "-" : String(leadersHeld.get(node.id) ?? 0),
      String(node.restarts),
    ];
    if (!moves) return row;
    const held = moves.nodes.get(node.id);
    return [
      ...row,
      held ? String(held.replicas) : "-",
      held ? String(held.learners) : "-",
      held ? String(moves.inFlightBy.get(node.id) ?? 0) : "-",
    ];
  });
  const header = ["node", "address", "pid", "state", "leaders", "restarts"];
  if (moves) header.push("replicas", "learners", "moves");
  for (const line of formatTable(header, rows)) print(line);
  if (moves) {
    print(
      moves.unsettled === 0 && moves.inFlight === 0
        ? "every partition is at its placement"
        : `moves in progress: ${moves.inFlight} learners catching up, ${moves.unsettled} partitions not at their placement yet`,
    );
  }
}
