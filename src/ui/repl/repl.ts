/**
 * The REPL (`tinyo` or `tinyo repl`): reads commands line by line (node:readline: history, tab
 * completion, works on a terminal and on piped input alike), runs each through oclif in this
 * process with the session's --home/--cluster, and prints errors as the commands do, without
 * ending the session. `help`, `help COMMAND`, `exit` (or Ctrl-D).
 */

import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { type Config, Errors } from "@oclif/core";
import { renderError } from "../../cli/error-message.js";
import { formatTable } from "../../cli/table.js";
import { ClusterControl } from "../../cluster/index.js";
import { complete } from "./completion.js";
import { appendHistory, HISTORY_SIZE, loadHistory } from "./history.js";
import { TokenizeError, tokenize } from "./tokenize.js";

export interface ReplOptions {
  readonly config: Config;
  readonly home: string | undefined;
  readonly cluster: string;
  readonly historyPath: string;
  readonly input?: Readable;
  readonly output?: Writable;
}

/** Commands that make no sense inside the REPL. */
const EXCLUDED = new Set(["node", "repl", "cluster:supervise", "help"]);
/** Set while the REPL runs commands: commands that would read the REPL's stdin refuse. */
export const REPL_ENV = "TINYO_REPL";

export async function runRepl(options: ReplOptions): Promise<void> {
  const { config } = options;
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const commands = config.commands.filter((c) => !c.hidden && !EXCLUDED.has(c.id));
  const commandIds = commands.map((c) => c.id.replaceAll(":", " "));
  const nodeIds = () => {
    try {
      return ClusterControl.open({ home: options.home, cluster: options.cluster }).nodeIds;
    } catch {
      return [];
    }
  };
  const rl = createInterface({
    input,
    output,
    terminal: interactive,
    history: interactive ? loadHistory(options.historyPath) : [],
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: `tinyo:${options.cluster}> `,
    completer: (line: string) =>
      complete(line, {
        commands: commandIds,
        flags: (id) =>
          Object.keys(commands.find((c) => c.id === id.replaceAll(" ", ":"))?.flags ?? {}).map(
            (f) => `--${f}`,
          ),
        nodeIds,
      }),
  });
  const print = (line: string) => output.write(`${line}\n`);
  rl.on("SIGINT", () => {
    rl.write("", { ctrl: true, name: "u" }); // Ctrl-C clears the line; Ctrl-D or `exit` leaves
    print("");
    rl.prompt();
  });
  if (interactive)
    print(`tinyo REPL on cluster '${options.cluster}': \`help\` lists commands, Tab completes, Ctrl-D exits`);

  process.env[REPL_ENV] = "1";
  // Piped input (a script) gets no prompts: its output stays the commands' output.
  const prompt = () => {
    if (interactive) rl.prompt();
  };
  prompt();
  try {
    for await (const line of rl) {
      const trimmed = line.trim();
      if (trimmed === "exit" || trimmed === "quit") break;
      if (trimmed.length > 0) {
        if (interactive) appendHistory(options.historyPath, trimmed);
        await runLine(trimmed);
      }
      prompt();
    }
  } finally {
    delete process.env[REPL_ENV];
    rl.close();
  }

  async function runLine(line: string): Promise<void> {
    let words: string[];
    try {
      words = tokenize(line);
    } catch (error) {
      if (error instanceof TokenizeError) return printError(error.message);
      throw error;
    }
    if (words[0] === "help") return help(words.slice(1));
    const [id, argv] = commandOf(words);
    if (id === undefined) return printError(`unknown command '${words[0]}'; \`help\` lists the commands`);
    const global = argv.includes("--cluster") || argv.some((a) => a.startsWith("--cluster="));
    try {
      await config.runCommand(id, global ? argv : [...argv, "--cluster", options.cluster]);
    } catch (error) {
      // The commands print their own errors; anything else (oclif's own) is printed here.
      if (error instanceof Errors.ExitError) return;
      printError(renderError(error).message);
    }
  }

  /** The command id ("cluster:up") and its arguments, or undefined for an unknown command. */
  function commandOf(words: string[]): [string | undefined, string[]] {
    const two = `${words[0]}:${words[1]}`;
    if (words.length > 1 && commands.some((c) => c.id === two)) return [two, words.slice(2)];
    if (commands.some((c) => c.id === words[0])) return [words[0], words.slice(1)];
    return [undefined, []];
  }

  async function help(topic: string[]): Promise<void> {
    if (topic.length > 0) {
      const [id] = commandOf(topic);
      if (id === undefined) return printError(`unknown command '${topic.join(" ")}'`);
      return config.runCommand("help", id.split(":"));
    }
    const rows = commands.map((c) => [c.id.replaceAll(":", " "), c.summary ?? ""]);
    for (const row of formatTable(["command", "what it does"], rows)) print(row);
    print("`help COMMAND` shows its flags and examples; `exit` or Ctrl-D leaves.");
  }

  function printError(message: string): void {
    process.stderr.write(`Error: ${message}\n`);
  }
}
