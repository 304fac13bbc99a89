import { Flags } from "@oclif/core";
import { TinyoCommand } from "../../cli/base-command.js";
import { ClusterControl, clusterDown } from "../../cluster/index.js";

export default class ClusterDown extends TinyoCommand<typeof ClusterDown> {
  static override summary = "Stop a local cluster: every node, then the supervisor.";

  static override description =
    `Nodes get SIGTERM and shut down gracefully; one still running after the grace period
(10 s) gets SIGKILL. The data stays for the next \`cluster up\` unless --purge.`;

  static override examples = ["<%= config.bin %> cluster down", "<%= config.bin %> cluster down --purge"];

  static override flags = {
    purge: Flags.boolean({ summary: "Also delete the cluster's directory: its data, logs and settings." }),
  };

  async run(): Promise<void> {
    const control = ClusterControl.open({ home: this.flags.home, cluster: this.flags.cluster });
    const result = await clusterDown(control, { purge: this.flags.purge });
    if (this.flags.json) return this.printJson({ cluster: control.name, ...result });
    const what = result.wasRunning ? "stopped" : "was not running";
    this.log(`cluster '${control.name}' ${what}${result.purged ? `; deleted ${control.paths.dir}` : ""}`);
    if (result.orphansStopped.length > 0) {
      this.log(`stopped node processes left without a supervisor: pids ${result.orphansStopped.join(", ")}`);
    }
  }
}
