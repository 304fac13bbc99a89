import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Args, Flags } from "@oclif/core";
import { TinyoCommand } from "../cli/base-command.js";
import { UsageError } from "../cli/error-message.js";
import { formatLogLine } from "../cli/log-lines.js";
import { ClusterControl, UnknownNodeError } from "../cluster/index.js";
import { REPL_ENV } from "../ui/repl/repl.js";

/** How much of the end of a log is read to find its last lines. */
const TAIL_BYTES = 1024 * 1024;

export default class Logs extends TinyoCommand<typeof Logs> {
  static override summary = "Show a node's log (nodes/<id>/node.log); -f follows it.";

  static override examples = [
    "<%= config.bin %> logs 3",
    "<%= config.bin %> logs 3 -f",
    "<%= config.bin %> logs 3 -n 200 --raw",
  ];

  static override args = { node: Args.integer({ description: "The node's id.", required: true, min: 1 }) };

  static override flags = {
    follow: Flags.boolean({ char: "f", summary: "Keep printing new lines until Ctrl-C." }),
    lines: Flags.integer({ char: "n", summary: "How many of the last lines to print.", default: 50, min: 0 }),
    raw: Flags.boolean({ summary: "Print the JSON lines as they are." }),
  };

  async run(): Promise<void> {
    const { follow, lines, raw } = this.flags;
    // In the REPL, following a log would take over its input until Ctrl-C.
    if (follow && process.env[REPL_ENV])
      throw new UsageError("logs -f is not available in the REPL; run it in a shell");
    // A stopped cluster's logs are still worth reading: no check that it runs.
    const control = ClusterControl.open({ home: this.flags.home, cluster: this.flags.cluster });
    if (!control.nodeIds.includes(this.args.node))
      throw new UnknownNodeError(this.args.node, control.nodeIds);
    const path = control.paths.nodeLog(this.args.node);
    const show = (line: string) => this.log(raw ? line : formatLogLine(line));
    let offset = await this.printTail(path, lines, show);
    if (!follow) return;
    let partial = "";
    for (;;) {
      await sleep(250);
      const size = await fileSize(path);
      if (size < offset) offset = 0; // the log was replaced
      if (size === offset) continue;
      const handle = await open(path, "r");
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      await handle.close();
      offset = size;
      const text = partial + buffer.toString("utf8");
      const complete = text.split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete) show(line);
    }
  }

  private async printTail(path: string, lines: number, show: (line: string) => void): Promise<number> {
    const size = await fileSize(path);
    if (size === 0) return 0;
    const start = Math.max(0, size - TAIL_BYTES);
    const handle = await open(path, "r");
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    await handle.close();
    const all = buffer.toString("utf8").split("\n");
    all.pop(); // after the last newline
    if (start > 0) all.shift(); // cut in the middle
    for (const line of lines === 0 ? [] : all.slice(-lines)) show(line);
    return size;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
