/**
 * Drives the BUILT CLI (`node bin/run.js`, what `npx tinyo` runs) with execa, as a person would:
 * a temporary TINYO_HOME, free loopback ports. `buildCli` compiles src/ into dist/ and writes
 * the oclif manifest first, so the tests never run a stale build.
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { portFree } from "../../src/cluster/ports.js";
import { METRICS_PORT_OFFSET } from "../../src/cluster/spec.js";
import { REPO } from "../integration/harness.js";

export const RUN_JS = join(REPO, "bin", "run.js");

export async function buildCli(): Promise<void> {
  const local = (bin: string) => join(REPO, "node_modules", ".bin", bin);
  await execa(local("tsc"), ["-p", "tsconfig.build.json"], { cwd: REPO });
  await execa(local("oclif"), ["manifest"], { cwd: REPO, env: { OCLIF_SKIP_UPDATE_CHECK: "1" } });
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CliSession {
  readonly home = mkdtempSync(join(tmpdir(), "tinyo-e2e-"));

  /** Runs `tinyo args...` to completion (bounded by `timeoutMs`). */
  async run(
    args: readonly string[],
    options: { input?: string; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    const result = await execa(process.execPath, [RUN_JS, ...args], {
      cwd: REPO,
      env: { TINYO_HOME: this.home, TINYO_TOKEN: undefined, NO_COLOR: "1" },
      input: options.input ?? "",
      reject: false,
      timeout: options.timeoutMs ?? 90_000,
    });
    if (result.timedOut) throw new Error(`tinyo ${args.join(" ")} did not finish in time`);
    return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** Like run, but fails the test with the output when the exit code is not 0. */
  async ok(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(`tinyo ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
  }
}

/** A base port B such that B+1..B+count (the nodes) and B+101..B+100+count (their metrics) are free now. */
export async function freeBasePort(count: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, i) => [
      base + i + 1,
      base + METRICS_PORT_OFFSET + i + 1,
    ]).flat();
    if ((await Promise.all(ports.map((p) => portFree("127.0.0.1", p)))).every(Boolean)) return base;
  }
}
