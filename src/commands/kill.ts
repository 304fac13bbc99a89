import { Args, Flags } from "@oclif/core";
import { TinyoCommand } from "../cli/base-command.js";

export default class Kill extends TinyoCommand<typeof Kill> {
  static override summary = "Stop a node process; it stays down until `tinyo restart`.";

  static override description =
    `SIGKILL by default: the node dies at once, as in a crash. --signal TERM shuts it down
gracefully. Either way the supervisor does not bring it back.`;

  static override examples = ["<%= config.bin %> kill 3", "<%= config.bin %> kill 3 --signal TERM"];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  static override flags = {
    signal: Flags.option({
      options: ["KILL", "TERM"] as const,
      default: "KILL" as const,
      summary: "The signal.",
    })(),
  };

  async run(): Promise<void> {
    const control = this.openControl();
    const pid = control.status().nodes.find((n) => n.id === this.args.node)?.pid;
    const node = await control.kill(this.args.node, `SIG${this.flags.signal}`);
    if (this.flags.json) return this.printJson(node);
    this.log(
      `node ${node.id} killed (SIG${this.flags.signal}, pid ${pid ?? "-"}); \`tinyo restart ${node.id}\` brings it back`,
    );
  }
}
