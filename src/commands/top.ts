import { Command, Flags } from "@oclif/core";

export default class Top extends Command {
  static override summary =
    "Live dashboard of a cluster: nodes, leaders, terms, lag, throughput, latency, events.";

  static override description =
    `Watches every node's Admin.WatchStatus stream (found through any node given in
--endpoints) and redraws a few times a second. Keys: q quit, arrows select a node, k/r/p
kill/restart/pause it (with a confirmation), ? help. Without a terminal on stdin it is read-only.`;

  static override examples = [
    "<%= config.bin %> top --endpoints 127.0.0.1:50051",
    "<%= config.bin %> top --endpoints 127.0.0.1:50051,127.0.0.1:50052 --cluster staging",
  ];

  static override flags = {
    endpoints: Flags.string({
      summary: "HOST:PORT of one or more nodes, comma-separated; the others are learned from them.",
      default: "127.0.0.1:50051",
    }),
    cluster: Flags.string({ summary: "Name shown in the header.", default: "default" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    const endpoints = flags.endpoints
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e.length > 0);
    const bad = endpoints.find((e) => !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(e));
    if (endpoints.length === 0 || bad !== undefined) {
      this.error(`--endpoints "${bad ?? flags.endpoints}" is not HOST:PORT (for example 127.0.0.1:50051)`, {
        exit: 2,
      });
    }
    // React picks its build when first loaded: the production one, before the UI is imported.
    process.env.NODE_ENV = "production";
    const { runTop, TopError } = await import("../ui/top/run-top.js");
    const { signalControls } = await import("../ui/top/controls.js");
    try {
      await runTop({ cluster: flags.cluster, endpoints, controls: signalControls });
    } catch (error) {
      if (error instanceof TopError) this.error(error.message, { exit: 1 });
      throw error;
    }
  }
}
