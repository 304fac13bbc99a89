/**
 * The base of every tinyo command except `tinyo node`: the shared flags (--home, --cluster,
 * --json, --debug; --endpoints for commands that talk to a cluster), the parsed flags and args on
 * `this.flags` / `this.args`, and the one place where an error becomes one line on stderr and a
 * non-zero exit (the stack only with --debug).
 */

import { Command, Errors, Flags, type Interfaces } from "@oclif/core";
import { DEFAULT_CLUSTER, type ResolvedCluster, resolveCluster } from "../cluster/index.js";
import { renderError } from "./error-message.js";

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

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof TinyoCommand;
    const { flags, args } = await this.parse({
      flags: ctor.flags,
      baseFlags: ctor.baseFlags,
      args: ctor.args,
      strict: ctor.strict,
    });
    this.flags = flags as TinyoFlags<T>;
    this.args = args as TinyoArgs<T>;
  }

  /** The nodes to talk to: --endpoints, else the local cluster (an error when it does not run). */
  protected resolveCluster(): ResolvedCluster {
    const flags = this.flags as TinyoFlags<T> & { endpoints?: string };
    return resolveCluster({ home: flags.home, cluster: flags.cluster, endpoints: flags.endpoints });
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
