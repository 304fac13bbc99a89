import { Flags } from "@oclif/core";
import { endpointFlags, TinyoCommand } from "../cli/base-command.js";
import { UsageError } from "../cli/error-message.js";
import { CONSISTENCY, consistencyFlag, text } from "../cli/kv-flags.js";

export default class Scan extends TinyoCommand<typeof Scan> {
  static override summary = "List keys and values in key order: by prefix or range.";

  static override description =
    "Prints one `key<TAB>value` line per pair. --end is exclusive. At most 10000 pairs per scan.";

  static override examples = [
    "<%= config.bin %> scan --prefix user:",
    "<%= config.bin %> scan --start a --end m --limit 10",
    "<%= config.bin %> scan --json",
  ];

  static override flags = {
    ...endpointFlags,
    prefix: Flags.string({ summary: "Only keys that start with this.", exclusive: ["start", "end"] }),
    start: Flags.string({ summary: "First key (inclusive)." }),
    end: Flags.string({ summary: "Last key (exclusive)." }),
    limit: Flags.integer({
      summary: "At most this many pairs, 1 to 10000.",
      default: 100,
      min: 1,
      max: 10_000,
    }),
    consistency: consistencyFlag,
  };

  async run(): Promise<void> {
    const { prefix, start, end, limit, consistency } = this.flags;
    if (start !== undefined && end !== undefined && start >= end) {
      throw new UsageError(`--start '${start}' must come before --end '${end}'`);
    }
    const pairs = await this.openClient().scan({
      prefix,
      start,
      end,
      limit,
      consistency: CONSISTENCY[consistency],
    });
    if (this.flags.json) {
      return this.printJson(pairs.map((p) => ({ key: text(p.key), value: text(p.value) })));
    }
    for (const pair of pairs) this.log(`${text(pair.key)}\t${text(pair.value)}`);
  }
}
