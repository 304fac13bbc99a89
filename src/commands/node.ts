import { Command, Flags } from "@oclif/core";
import { ConfigError, DEFAULT_COMPACT_EVERY, DEFAULT_TICK_MS, parseNodeConfig } from "../node/config.js";
import { runNode, StartupError } from "../node/main.js";

export default class Node extends Command {
  static override summary = "Run one tinyo node (usually started for you by `tinyo cluster up`).";

  static override description =
    `Serves the KV, Admin and Raft services on one HTTP/2 port and hosts the Raft groups
of the partitions placed on this node. Logs are JSON lines on stdout. SIGTERM or SIGINT
shuts it down gracefully.`;

  static override examples = [
    "<%= config.bin %> node --id 1 --peers 1=127.0.0.1:50051,2=127.0.0.1:50052,3=127.0.0.1:50053 --data /tmp/tinyo/1",
    "<%= config.bin %> node --id 4 --listen 127.0.0.1:50054 --join 127.0.0.1:50051 --data /tmp/tinyo/4",
  ];

  static override flags = {
    id: Flags.string({
      summary: "This node's id: one of the ids in --peers, or a new id with --join.",
      required: true,
    }),
    peers: Flags.string({
      summary: "A new cluster's founding nodes, this one included: ID=HOST:PORT,ID=HOST:PORT,...",
      exclusive: ["join"],
    }),
    join: Flags.string({
      summary: "Join a running cluster: HOST:PORT of one or more of its nodes (needs --listen).",
      exclusive: ["peers"],
    }),
    listen: Flags.string({
      summary: "HOST:PORT to listen on; default: this node's address in --peers. The port must be the same.",
    }),
    data: Flags.string({
      summary: "Data directory (created if missing): raft/ log and kv/ RocksDB.",
      required: true,
    }),
    partitions: Flags.string({
      summary: "Number of partitions Q, 1 to 4096; the same on every node.",
      default: "32",
    }),
    replication: Flags.string({
      summary: "Replicas per partition; default 3, or the number of peers if fewer.",
    }),
    vnodes: Flags.string({
      summary: "Virtual nodes per node on the hash ring; the same on every node.",
      default: "64",
    }),
    token: Flags.string({
      summary: "Cluster token that peers must present (default: $TINYO_TOKEN, else a development token).",
    }),
    fsync: Flags.boolean({
      summary: "fdatasync the Raft log before acknowledging (--no-fsync: faster, unsafe on power loss).",
      default: true,
      allowNo: true,
    }),
    "tick-ms": Flags.string({
      summary: "Raft tick in milliseconds (elections after 10 to 20 ticks).",
      default: String(DEFAULT_TICK_MS),
    }),
    "compact-every": Flags.string({
      summary:
        "Compact a partition's Raft log every N applied entries (the newest N/2 stay for slow followers).",
      default: String(DEFAULT_COMPACT_EVERY),
    }),
    "metrics-listen": Flags.string({
      summary:
        "HOST:PORT to serve Prometheus metrics on (plain HTTP/1.1, GET /metrics); default: no metrics endpoint.",
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Node);
    let config: ReturnType<typeof parseNodeConfig>;
    try {
      config = parseNodeConfig(
        {
          id: flags.id,
          peers: flags.peers,
          join: flags.join,
          listen: flags.listen,
          data: flags.data,
          partitions: flags.partitions,
          replication: flags.replication,
          vnodes: flags.vnodes,
          token: flags.token,
          fsync: flags.fsync,
          tickMs: flags["tick-ms"],
          compactEvery: flags["compact-every"],
          metricsListen: flags["metrics-listen"],
        },
        process.env,
      );
    } catch (error) {
      if (error instanceof ConfigError) this.error(error.message, { exit: 2 });
      throw error;
    }
    let code: number;
    try {
      code = await runNode(config);
    } catch (error) {
      if (error instanceof StartupError) this.error(error.message, { exit: 1 });
      throw error;
    }
    process.exit(code);
  }
}
