import { Flags } from "@oclif/core";
import { TinyoCommand } from "../../cli/base-command.js";
import { printClusterTable } from "../../cli/cluster-table.js";
import { clusterUp } from "../../cluster/index.js";

export default class ClusterUp extends TinyoCommand<typeof ClusterUp> {
  static override summary = "Start a local cluster (or restart an existing one from its data).";

  static override description =
    `Creates <home>/<cluster> (cluster.json, nodes/<id>/data, nodes/<id>/node.log), starts a
detached supervisor that runs the nodes and restarts any that crash, and returns once every
partition has a leader. Node i listens on 127.0.0.1:<base-port + i>. On an existing cluster
the nodes start from their data; --nodes, --base-port, --partitions, --replication and
--vnodes are fixed when the cluster is created.`;

  static override examples = [
    "<%= config.bin %> cluster up",
    "<%= config.bin %> cluster up --nodes 3 --partitions 16 --base-port 60000",
    "<%= config.bin %> cluster up --cluster demo --no-fsync --tick-ms 20",
  ];

  static override flags = {
    nodes: Flags.integer({ summary: "Number of nodes, 1 to 64 (default 5).", min: 1, max: 64 }),
    partitions: Flags.integer({ summary: "Partitions Q, 1 to 4096 (default 32).", min: 1, max: 4096 }),
    replication: Flags.integer({ summary: "Replicas per partition (default 3, at most --nodes).", min: 1 }),
    vnodes: Flags.integer({ summary: "Virtual nodes per node on the hash ring (default 64).", min: 1 }),
    "base-port": Flags.integer({
      summary: "Node i listens on 127.0.0.1:<base-port + i> (default 50050).",
      min: 1024,
      max: 65534,
    }),
    fsync: Flags.boolean({
      summary: "fdatasync the Raft log (--no-fsync: faster, loses writes on power loss).",
      allowNo: true,
    }),
    "tick-ms": Flags.integer({ summary: "Raft tick in milliseconds (default 50).", min: 5, max: 10_000 }),
    timeout: Flags.integer({
      summary: "Seconds to wait for a leader in every partition.",
      default: 60,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { flags } = this;
    const result = await clusterUp({
      home: flags.home,
      cluster: flags.cluster,
      nodes: flags.nodes,
      partitions: flags.partitions,
      replication: flags.replication,
      vnodes: flags.vnodes,
      basePort: flags["base-port"],
      fsync: flags.fsync,
      tickMs: flags["tick-ms"],
      timeoutMs: flags.timeout * 1000,
    });
    if (flags.json) {
      this.printJson({ ...result, leadersHeld: Object.fromEntries(result.leadersHeld) });
      return;
    }
    const verb = result.alreadyRunning ? "is already running" : result.created ? "is up" : "is up again";
    this.log(`cluster '${result.status.name}' ${verb} (${(result.elapsedMs / 1000).toFixed(1)} s)`);
    printClusterTable((line) => this.log(line), result.status, result.leadersHeld);
    if (!result.alreadyRunning) this.log(`data and logs: ${result.status.dir}`);
  }
}
