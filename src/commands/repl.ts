import { TinyoCommand } from "../cli/base-command.js";
import { tinyoHome } from "../cluster/index.js";
import { clusterPaths } from "../cluster/paths.js";
import { runRepl } from "../ui/repl/repl.js";

export default class Repl extends TinyoCommand<typeof Repl> {
  static override summary =
    "Interactive shell: every command without the `tinyo` prefix (also `tinyo` alone).";

  static override description =
    `History is kept in <home>/<cluster>/repl_history; Tab completes commands, flags and
node ids; \`help\` lists the commands; errors are printed and the session goes on; \`exit\` or
Ctrl-D leaves. Reads commands from stdin when it is not a terminal (for scripts).`;

  static override examples = [
    "<%= config.bin %>",
    "<%= config.bin %> repl --cluster demo",
    "echo 'get user:1' | <%= config.bin %> repl",
  ];

  async run(): Promise<void> {
    const home = tinyoHome(this.flags.home);
    await runRepl({
      config: this.config,
      home,
      cluster: this.flags.cluster,
      historyPath: clusterPaths(home, this.flags.cluster).history,
    });
  }
}
