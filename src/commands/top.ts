import { endpointFlags, TinyoCommand } from "../cli/base-command.js";
import { ClusterError } from "../cluster/index.js";
import { prepareTerminalUi } from "../ui/terminal-ui.js";

export default class Top extends TinyoCommand<typeof Top> {
  static override summary =
    "Live dashboard of a cluster: nodes, leaders, terms, lag, throughput, latency, events.";

  static override description =
    `Watches every node's Admin.WatchStatus stream and redraws a few times a second.
Keys: q quit, arrows select a node, k/r/p kill/restart/pause (or resume) it, with a
confirmation, ? help. On a local cluster k/r/p go through its supervisor; with --endpoints,
k and p signal a node's pid when it runs on this machine. Without a terminal on stdin it is
read-only.`;

  static override examples = [
    "<%= config.bin %> top",
    "<%= config.bin %> top --cluster staging",
    "<%= config.bin %> top --endpoints 127.0.0.1:50051",
  ];

  static override flags = { ...endpointFlags };

  async run(): Promise<void> {
    const resolved = this.resolveCluster();
    prepareTerminalUi(process.stdout);
    const { runTop, TopError } = await import("../ui/top/run-top.js");
    const { signalControls } = await import("../ui/top/controls.js");
    const { clusterControls, watchProcesses } = await import("../ui/top/cluster-controls.js");
    const control = resolved.control;
    try {
      await runTop({
        cluster: resolved.name ?? resolved.endpoints.join(","),
        endpoints: resolved.endpoints,
        controls: control ? (dispatch) => clusterControls(control, dispatch) : signalControls,
        ...(control && { watchProcesses: (dispatch, signal) => watchProcesses(control, dispatch, signal) }),
      });
    } catch (error) {
      if (error instanceof TopError) throw new ClusterError(error.message);
      throw error;
    }
  }
}
