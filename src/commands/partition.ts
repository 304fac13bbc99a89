import { TinyoCommand } from "../cli/base-command.js";
import { applyPartition, planPartition } from "../cluster/faults.js";

export default class Partition extends TinyoCommand<typeof Partition> {
  static override summary = "Cut the network between groups of nodes (until `tinyo heal`).";

  static override description =
    `Each node drops all Raft traffic with the nodes outside its group (through its Admin
fault rules); clients still reach every node. Nodes not named form one more group. The side
with a majority of a partition's replicas keeps (or elects) its leader; on the other side,
writes and linearizable reads of that partition fail with Unavailable.`;

  static override examples = ["<%= config.bin %> partition 1,2 3,4,5", "<%= config.bin %> partition 3"];

  static override strict = false;

  static override usage = "partition GROUP GROUP...";

  async run(): Promise<void> {
    const control = this.openControl();
    const plan = planPartition(this.rest, control.nodeIds);
    const nodes = control.nodeIds.map((id) => ({ id, address: control.address(id) }));
    const outcome = await applyPartition(nodes, plan, control.spec.token);
    if (this.flags.json) return this.printJson({ groups: plan.groups, ...outcome });
    this.log(`partitioned: ${plan.groups.map((g) => `{${g.join(",")}}`).join(" | ")}`);
    if (outcome.unreachable.length > 0) {
      this.log(
        `nodes ${outcome.unreachable.join(", ")} did not answer (down or paused); their peers' rules still cut them off`,
      );
    }
  }
}
