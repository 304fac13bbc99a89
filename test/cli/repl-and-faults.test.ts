/** The pure parts of the CLI: REPL line splitting and completion, partition plans. */

import { describe, expect, it } from "vitest";
import { ClusterError, UnknownNodeError } from "../../src/cluster/errors.js";
import { planPartition } from "../../src/cluster/faults.js";
import { complete } from "../../src/ui/repl/completion.js";
import { TokenizeError, tokenize } from "../../src/ui/repl/tokenize.js";

describe("tokenize", () => {
  it("splits like a shell for quotes and escapes", () => {
    expect(tokenize(`put "user 1" 'a "b"' c\\ d`)).toEqual(["put", "user 1", 'a "b"', "c d"]);
    expect(tokenize(`  get   k  `)).toEqual(["get", "k"]);
    expect(tokenize(`put k ""`)).toEqual(["put", "k", ""]);
  });

  it("refuses an unclosed quote", () => {
    expect(() => tokenize(`put "k v`)).toThrow(TokenizeError);
  });
});

describe("complete", () => {
  const source = {
    commands: ["get", "put", "kill", "cluster up", "cluster down", "cluster status"],
    flags: (id: string) => (id === "get" ? ["--consistency", "--json"] : []),
    nodeIds: () => [1, 2, 3],
  };

  it("completes command names, topics' subcommands, flags and node ids", () => {
    expect(complete("ge", source)).toEqual([["get "], "ge"]);
    expect(complete("cluster s", source)).toEqual([["status "], "s"]);
    expect(complete("cluster ", source)[0]).toEqual(["down", "status", "up"]);
    expect(complete("get k --c", source)).toEqual([["--consistency "], "--c"]);
    expect(complete("kill ", source)[0]).toEqual(["1", "2", "3"]);
  });
});

describe("planPartition", () => {
  it("cuts every node off from the nodes outside its group, both ways", () => {
    const plan = planPartition(["1,2", "3,4,5"], [1, 2, 3, 4, 5]);
    expect(plan.groups).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(plan.rules.get(1)?.map((r) => r.peer)).toEqual([3, 4, 5]);
    expect(plan.rules.get(4)?.map((r) => r.peer)).toEqual([1, 2]);
    expect(plan.rules.get(4)?.every((r) => r.drop)).toBe(true);
  });

  it("puts the nodes not named in one more group", () => {
    expect(planPartition(["3"], [1, 2, 3]).groups).toEqual([[3], [1, 2]]);
  });

  it("refuses unknown, repeated or malformed ids, and a single group", () => {
    expect(() => planPartition(["1,9"], [1, 2, 3])).toThrow(UnknownNodeError);
    expect(() => planPartition(["1,2", "2,3"], [1, 2, 3])).toThrow(/node 2 is in two groups/);
    expect(() => planPartition(["1,x"], [1, 2, 3])).toThrow(/not a list of node ids/);
    expect(() => planPartition(["1,2,3"], [1, 2, 3])).toThrow(ClusterError);
  });
});
