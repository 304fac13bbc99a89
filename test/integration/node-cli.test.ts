/**
 * `tinyo node` refusing to start, as a person would see it: a one-line message naming the
 * problem and a non-zero exit (2 for bad flags, 1 for an environment it cannot use).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts, runCli } from "./harness.js";

let root: string;
let port: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tinyo-cli-"));
  [port] = (await freePorts(1)) as [number];
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error line oclif prints (dev mode adds a stack below it; the built CLI does not). */
const firstLine = (stderr: string) => stderr.trim().split("\n")[0] ?? "";

describe("tinyo node", () => {
  it("exits 2 with a clear message for flags it cannot use", async () => {
    const data = join(root, "flags");
    const cases: [string[], RegExp][] = [
      [["--id", "4", "--peers", `1=127.0.0.1:${port}`], /--id 4 is not in --peers \(which lists 1\)/],
      [
        ["--id", "1", "--peers", `1=127.0.0.1:${port}`, "--replication", "2"],
        /--replication 2 needs at least 2 nodes/,
      ],
      [
        ["--id", "1", "--peers", `1=127.0.0.1:${port}`, "--partitions", "5000"],
        /--partitions 5000 is out of range/,
      ],
      [["--id", "1", "--peers", "1=127.0.0.1"], /not HOST:PORT/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(["node", ...args, "--data", data])));
    results.forEach((result, i) => {
      expect(result.code).toBe(2);
      expect(firstLine(result.stderr)).toMatch(cases[i]?.[1] as RegExp);
    });
  });

  it("exits 1 naming the address when the port is in use", async () => {
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
    try {
      const result = await runCli([
        "node",
        "--id",
        "1",
        "--peers",
        `1=127.0.0.1:${port}`,
        "--data",
        join(root, "in-use"),
      ]);
      expect(result.code).toBe(1);
      expect(firstLine(result.stderr)).toContain(`127.0.0.1:${port}: the address is already in use`);
      expect(result.stdout).toContain('"event":"startup_failed"');
    } finally {
      server.close();
    }
  });

  it("exits 1 for a data directory that is not a tinyo node's", async () => {
    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "not tinyo");
    const damaged = join(root, "damaged");
    mkdirSync(damaged);
    writeFileSync(join(damaged, "node.json"), "{not json");
    const [a, b] = await Promise.all(
      [foreign, damaged].map((data) =>
        runCli(["node", "--id", "1", "--peers", `1=127.0.0.1:${port}`, "--data", data]),
      ),
    );
    expect(a?.code).toBe(1);
    expect(firstLine(a?.stderr ?? "")).toMatch(/holds files that are not a tinyo node's \(notes\.txt\)/);
    expect(b?.code).toBe(1);
    expect(firstLine(b?.stderr ?? "")).toMatch(/node\.json is damaged/);
  });
});
