import { Args } from "@oclif/core";
import { TinyoCommand } from "../cli/base-command.js";

export default class Restart extends TinyoCommand<typeof Restart> {
  static override summary = "Start a node again (stopping it gracefully first if it runs).";

  static override description =
    "The node restarts from its data and catches up from its peers (log or snapshot).";

  static override examples = ["<%= config.bin %> restart 3"];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  async run(): Promise<void> {
    const node = await this.openControl().restart(this.args.node);
    if (this.flags.json) return this.printJson(node);
    this.log(`node ${node.id} restarted (pid ${node.pid ?? "-"})`);
  }
}
