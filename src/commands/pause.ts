import { Args } from "@oclif/core";
import { TinyoCommand } from "../cli/base-command.js";

export default class Pause extends TinyoCommand<typeof Pause> {
  static override summary = "Freeze a node process (SIGSTOP) until `tinyo resume`.";

  static override description =
    "A paused node holds its ports and connections but answers nothing: to its peers it looks like a hung machine.";

  static override examples = ["<%= config.bin %> pause 2"];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  async run(): Promise<void> {
    const node = await this.openControl().pause(this.args.node);
    if (this.flags.json) return this.printJson(node);
    this.log(`node ${node.id} paused (pid ${node.pid ?? "-"}); \`tinyo resume ${node.id}\` continues it`);
  }
}
