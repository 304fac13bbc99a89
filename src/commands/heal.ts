import { TinyoCommand } from "../cli/base-command.js";
import { healPartition } from "../cluster/faults.js";

export default class Heal extends TinyoCommand<typeof Heal> {
  static override summary = "Remove every network fault set by `tinyo partition`.";

  static override examples = ["<%= config.bin %> heal"];

  async run(): Promise<void> {
    const control = this.openControl();
    const nodes = control.nodeIds.map((id) => ({ id, address: control.address(id) }));
    const outcome = await healPartition(nodes, control.spec.token);
    if (this.flags.json) return this.printJson(outcome);
    this.log(`healed nodes ${outcome.applied.join(", ") || "(none)"}`);
    if (outcome.unreachable.length > 0) {
      this.log(
        `nodes ${outcome.unreachable.join(", ")} did not answer (a restarted node starts with no faults)`,
      );
    }
  }
}
