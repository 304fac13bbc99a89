import { Args } from "@oclif/core";
import { endpointFlags, TinyoCommand } from "../cli/base-command.js";
import { UsageError } from "../cli/error-message.js";
import { readStdinValue } from "../cli/kv-flags.js";
import { REPL_ENV } from "../ui/repl/repl.js";

export default class Put extends TinyoCommand<typeof Put> {
  static override summary = "Write a key's value.";

  static override description =
    "Keys are 1 to 4096 bytes, values at most 1 MiB (UTF-8 as typed). A VALUE of - reads the value from stdin.";

  static override examples = [
    "<%= config.bin %> put user:1 alice",
    "cat photo.jpg | <%= config.bin %> put photo:1 -",
    "<%= config.bin %> put user:1 bob --endpoints 127.0.0.1:50051",
  ];

  static override args = {
    key: Args.string({ description: "The key.", required: true }),
    value: Args.string({ description: "The value, or - to read it from stdin.", required: true }),
  };

  static override flags = { ...endpointFlags };

  async run(): Promise<void> {
    const { key, value } = this.args;
    const client = this.openClient();
    if (value === "-" && process.env[REPL_ENV]) {
      throw new UsageError("a value from stdin (-) is not available in the REPL; type the value");
    }
    const bytes = value === "-" ? await readStdinValue() : value;
    const started = performance.now();
    const served = await client.put(key, bytes);
    const ms = performance.now() - started;
    if (this.flags.json) return this.printJson({ key, ...served, ms: Number(ms.toFixed(2)) });
    this.log(`OK  partition ${served.partition}, leader ${served.leader}, ${ms.toFixed(1)} ms`);
  }
}
