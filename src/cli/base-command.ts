/**
 * The base of every tinyo command except `tinyo node`: the shared flags (--home, --cluster,
 * --json, --debug; --endpoints for commands that talk to a cluster), the parsed flags and args on
 * `this.flags` / `this.args`, and the one place where an error becomes one line on stderr and a
 * non-zero exit (the stack only with --debug).
 */

import { Command, Errors, Flags, type Interfaces } from "@oclif/core";
import { TinyoClient } from "../client/index.js";
import {
  ClusterControl,
  ClusterNotRunningError,
  DEFAULT_CLUSTER,
  type ResolvedCluster,
  resolveCluster,
} from "../cluster/index.js";
import { renderError, UsageError } from "./error-message.js";

export type TinyoFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof TinyoCommand)["baseFlags"] & T["flags"]
>;
export type TinyoArgs<T extends typeof Command> = Interfaces.InferredArgs<T["args"]>;

/** For commands that talk to a cluster: spread into their `flags`. */
export const endpointFlags = {
  endpoints: Flags.string({
    summary: "Talk to these nodes (host:port,host:port,...) instead of the local cluster.",
    helpGroup: "GLOBAL",
  }),
  timeout: Flags.integer({
    summary: "Deadline of the operation in milliseconds, retries included.",
    default: 5000,
    min: 1,
    max: 600_000,
    helpGroup: "GLOBAL",
  }),
};

export abstract class TinyoCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    home: Flags.string({
      summary: "Directory of local clusters.",
      description: "Default: $TINYO_HOME, else ~/.tinyo. A cluster lives in <home>/<cluster>.",
      env: "TINYO_HOME",
      helpGroup: "GLOBAL",
    }),
    cluster: Flags.string({
      summary: "Name of the local cluster.",
      default: DEFAULT_CLUSTER,
      helpGroup: "GLOBAL",
    }),
    json: Flags.boolean({ summary: "Print the result as JSON.", helpGroup: "GLOBAL" }),
    debug: Flags.boolean({ summary: "Show stack traces of errors.", helpGroup: "GLOBAL" }),
  };

  protected flags!: TinyoFlags<T>;
  protected args!: TinyoArgs<T>;
  /** The arguments as typed, for commands with `strict = false` (a variable number of them). */
  protected rest: string[] = [];
  private readonly clients: TinyoClient[] = [];

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof TinyoCommand;
    // Whatever the parser refuses is a usage error (exit 2); oclif's own argument parsers (say,
    // Args.integer given "abc") throw plain CLIErrors that would otherwise exit 1.
    const { flags, args, argv } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      args: ctor.args,
      strict: ctor.strict,
    }).catch((error: unknown) => {
      if (error instanceof Errors.ExitError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new UsageError((message.split("\n")[0] ?? "").trim());
    });
    this.flags = flags as TinyoFlags<T>;
    this.args = args as TinyoArgs<T>;
    this.rest = argv.map(String);
  }

  /** The nodes to talk to: --endpoints, else the local cluster (an error when it does not run). */
  protected resolveCluster(): ResolvedCluster {
    const flags = this.flags as TinyoFlags<T> & { endpoints?: string };
    return resolveCluster({ home: flags.home, cluster: flags.cluster, endpoints: flags.endpoints });
  }

  /** A client of the resolved cluster, closed when the command ends. */
  protected openClient(cluster = this.resolveCluster()): TinyoClient {
    const { timeout } = this.flags as TinyoFlags<T> & { timeout?: number };
    const client = new TinyoClient({
      endpoints: cluster.endpoints,
      partitions: cluster.partitions,
      deadlineMs: timeout,
    });
    this.clients.push(client);
    return client;
  }

  /** The process control of the local cluster (--home, --cluster); an error when it does not run. */
  protected openControl(): ClusterControl {
    const control = ClusterControl.open({ home: this.flags.home, cluster: this.flags.cluster });
    if (!control.isRunning()) throw new ClusterNotRunningError(control.name);
    return control;
  }

  override async finally(error: Error | undefined): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await super.finally(error);
  }

  /** Prints `value` as one line of JSON. */
  protected printJson(value: unknown): void {
    this.log(JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v)));
  }

  /** One line on stderr (or a JSON object on stdout with --json), then exit with a non-zero code. */
  override async catch(error: Error & { exitCode?: number }): Promise<void> {
    if (error instanceof Errors.ExitError) throw error;
    const { message, exitCode } = renderError(error);
    // Flags may be unparsed when parsing itself failed: look at the raw argv then.
    const json = this.flags?.json ?? this.argv.includes("--json");
    const debug = this.flags?.debug ?? this.argv.includes("--debug");
    if (json) this.log(JSON.stringify({ error: { message, exitCode } }));
    else process.stderr.write(`Error: ${message}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    this.exit(exitCode);
  }
}
