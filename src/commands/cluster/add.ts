import { Flags } from "@oclif/core";
import { TinyoCommand } from "../../cli/base-command.js";
import { addNodes } from "../../cluster/membership.js";

export default class ClusterAdd extends TinyoCommand<typeof ClusterAdd> {
  static override summary = "Add nodes to a running local cluster; replicas move to them while it serves.";

  static override description =
    `Each new node gets the next id and port, is recorded in cluster.json and started with --join:
it joins through the cluster's metadata group, and every partition the new placement gives it
moves there one Raft change at a time (learner, caught up, promoted, old replica removed).
Returns once the nodes have joined; \`tinyo cluster status\` shows the moves in progress.`;

  static override examples = ["<%= config.bin %> cluster add", "<%= config.bin %> cluster add --count 2"];

  static override flags = {
    count: Flags.integer({ summary: "How many nodes to add (1 to 16).", default: 1 }),
    timeout: Flags.integer({ summary: "Seconds to wait for each node to join.", default: 60, min: 1 }),
  };

  async run(): Promise<void> {
    const control = this.openControl();
    const added = await addNodes(control, this.flags.count, this.flags.timeout * 1000);
    if (this.flags.json) return this.printJson({ cluster: control.name, added });
    for (const node of added) this.log(`node ${node.id} joined at ${node.address}`);
    this.log("replicas are moving to the new nodes: watch `tinyo cluster status` or `tinyo top`");
  }
}
