import { Args, Flags } from "@oclif/core";
import { TinyoCommand } from "../../cli/base-command.js";
import { removeNode } from "../../cluster/membership.js";

export default class ClusterRemove extends TinyoCommand<typeof ClusterRemove> {
  static override summary =
    "Remove a node from a running local cluster: its replicas move away, then it stops.";

  static override description =
    `The node leaves the member list; every partition it replicates gets a replacement replica
(learner, caught up, promoted) before its own is removed, and it hands its leaderships over.
Once no partition needs it, its process stops and its data is deleted. Refused when fewer nodes
than the replication factor would remain.`;

  static override examples = ["<%= config.bin %> cluster remove 3"];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  static override flags = {
    timeout: Flags.integer({ summary: "Seconds to wait for the replicas to move.", default: 120, min: 1 }),
  };

  async run(): Promise<void> {
    const control = this.openControl();
    await removeNode(control, this.args.node, this.flags.timeout * 1000);
    if (this.flags.json) return this.printJson({ cluster: control.name, removed: this.args.node });
    this.log(`node ${this.args.node} removed: its replicas live on the other nodes, its process is stopped`);
  }
}
