import { TinyoCommand } from "../../cli/base-command.js";
import { printClusterTable } from "../../cli/cluster-table.js";
import { ClusterControl, leadersHeld, nodeStatuses } from "../../cluster/index.js";
import { moveProgress } from "../../cluster/membership.js";
import { transportFigures } from "../../cluster/transport-figures.js";

export default class ClusterStatus extends TinyoCommand<typeof ClusterStatus> {
  static override summary =
    "Show a local cluster's nodes: state, pid, address, leaders held, replicas, and moves in progress.";

  static override examples = ["<%= config.bin %> cluster status", "<%= config.bin %> cluster status --json"];

  async run(): Promise<void> {
    const control = ClusterControl.open({ home: this.flags.home, cluster: this.flags.cluster });
    const status = control.status();
    const statuses = await nodeStatuses(status.nodes.filter((n) => n.pid !== null));
    const held = leadersHeld(statuses);
    const moves = moveProgress(statuses, status.settings);
    if (this.flags.json) {
      return this.printJson({
        ...status,
        leadersHeld: Object.fromEntries(held),
        moves: {
          inFlight: moves.inFlight,
          unsettledPartitions: moves.unsettled,
          nodes: Object.fromEntries(
            [...moves.nodes].map(([id, n]) => [id, { ...n, moves: moves.inFlightBy.get(id) ?? 0 }]),
          ),
        },
        transport: Object.fromEntries(
          [...statuses].flatMap(([id, s]) => (s?.transport ? [[id, transportFigures(s.transport)]] : [])),
        ),
      });
    }
    const supervisor = status.supervisor.alive
      ? `supervisor pid ${status.supervisor.pid}`
      : status.nodes.some((n) => n.pid !== null)
        ? "supervisor NOT RUNNING: nodes are orphaned; `tinyo cluster up` recovers"
        : "not running";
    this.log(`cluster '${status.name}' (${status.dir}): ${supervisor}`);
    printClusterTable((line) => this.log(line), status, held, moves);
  }
}
