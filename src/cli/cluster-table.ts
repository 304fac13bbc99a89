/** The node table of `cluster up` and `cluster status`. */

import type { ClusterStatus } from "../cluster/index.js";
import { formatTable } from "./table.js";

export function printClusterTable(
  print: (line: string) => void,
  status: ClusterStatus,
  leadersHeld: ReadonlyMap<number, number>,
): void {
  const rows = status.nodes.map((node) => [
    String(node.id),
    node.address,
    node.pid === null ? "-" : String(node.pid),
    node.state,
    node.pid === null ? "-" : String(leadersHeld.get(node.id) ?? 0),
    String(node.restarts),
  ]);
  for (const line of formatTable(["node", "address", "pid", "state", "leaders", "restarts"], rows))
    print(line);
}
