import { TinyoCommand } from "../../cli/base-command.js";
import { runSupervisor } from "../../cluster/index.js";
import { clusterPaths, tinyoHome } from "../../cluster/paths.js";

export default class ClusterSupervise extends TinyoCommand<typeof ClusterSupervise> {
  static override hidden = true;
  static override summary = "Run a cluster's supervisor (started detached by `tinyo cluster up`).";

  async run(): Promise<void> {
    const code = await runSupervisor(clusterPaths(tinyoHome(this.flags.home), this.flags.cluster));
    process.exit(code);
  }
}
