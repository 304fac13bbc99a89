import { Args } from "@oclif/core";
import { TinyoCommand } from "../cli/base-command.js";

export default class Resume extends TinyoCommand<typeof Resume> {
  static override summary = "Continue a paused node (SIGCONT).";

  static override examples = ["<%= config.bin %> resume 2"];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  async run(): Promise<void> {
    const node = await this.openControl().resume(this.args.node);
    if (this.flags.json) return this.printJson(node);
    this.log(`node ${node.id} resumed (pid ${node.pid ?? "-"})`);
  }
}
