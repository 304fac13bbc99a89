import { Args } from "@oclif/core";
import { endpointFlags, TinyoCommand } from "../cli/base-command.js";

export default class Del extends TinyoCommand<typeof Del> {
  static override summary = "Delete a key (says whether it existed).";

  static override examples = ["<%= config.bin %> del user:1"];

  static override args = { key: Args.string({ description: "The key.", required: true }) };

  static override flags = { ...endpointFlags };

  async run(): Promise<void> {
    const { key } = this.args;
    const existed = await this.openClient().delete(key);
    if (this.flags.json) return this.printJson({ key, existed });
    this.log(existed ? `deleted ${key}` : `${key} did not exist`);
  }
}
