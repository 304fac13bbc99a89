/**
 * Tab completion in the REPL: command names (and the subcommands of a topic like `cluster`),
 * then node ids for the commands that take one, and flag names of the command.
 */

export interface CompletionSource {
  /** Command ids with spaces: "put", "cluster up". */
  readonly commands: readonly string[];
  /** Flags (with their dashes) of a command id. */
  flags(command: string): readonly string[];
  /** The local cluster's node ids (empty when it does not exist). */
  nodeIds(): readonly number[];
}

/** Commands whose first argument is a node id. */
export const NODE_COMMANDS = new Set(["kill", "restart", "pause", "resume", "logs", "partition"]);

/** readline's completer result: candidates and the part of the line they complete. */
export function complete(line: string, source: CompletionSource): [string[], string] {
  const words = line.split(/\s+/);
  const current = words.pop() ?? "";
  const typed = words.filter((w) => w.length > 0);
  const candidates = (() => {
    if (typed.length === 0) {
      const firstWords = new Set(source.commands.map((c) => c.split(" ")[0] as string));
      return [...firstWords, "help", "exit"];
    }
    const prefix = typed.join(" ");
    const subcommands = source.commands
      .filter((c) => c.startsWith(`${prefix} `) && c.split(" ").length === typed.length + 1)
      .map((c) => c.split(" ").at(-1) as string);
    if (subcommands.length > 0) return subcommands;
    const command = source.commands.find((c) => prefix.startsWith(c)) ?? (typed[0] === "help" ? "help" : "");
    if (command === "help") return source.commands.map((c) => c.split(" ")[0] as string);
    if (current.startsWith("-")) return [...source.flags(command)];
    if (NODE_COMMANDS.has(command)) return source.nodeIds().map(String);
    return [];
  })();
  const hits = [...new Set(candidates)].filter((c) => c.startsWith(current)).sort();
  // A single candidate is completed with the space that separates it from what comes next.
  return [hits.length === 1 ? [`${hits[0]} `] : hits, current];
}
