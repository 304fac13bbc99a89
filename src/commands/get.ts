import { Args } from "@oclif/core";
import { endpointFlags, TinyoCommand } from "../cli/base-command.js";
import { NotFoundError } from "../cli/error-message.js";
import { CONSISTENCY, consistencyFlag, text } from "../cli/kv-flags.js";

export default class Get extends TinyoCommand<typeof Get> {
  static override summary = "Read a key's value (exit code 1 when the key does not exist).";

  static override examples = [
    "<%= config.bin %> get user:1",
    "<%= config.bin %> get user:1 --consistency stale",
    "<%= config.bin %> get user:1 --json",
  ];

  static override args = { key: Args.string({ description: "The key.", required: true }) };

  static override flags = { ...endpointFlags, consistency: consistencyFlag };

  async run(): Promise<void> {
    const { key } = this.args;
    const value = await this.openClient().get(key, CONSISTENCY[this.flags.consistency]);
    if (value === undefined) throw new NotFoundError(`not found: ${key}`);
    if (this.flags.json) return this.printJson({ key, value: text(value) });
    this.log(text(value));
  }
}
