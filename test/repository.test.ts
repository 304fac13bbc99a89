/** Checks of the repository itself that no compiler or linter makes (Markdown is neither). */

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { REPO } from "./integration/harness.js";

describe("the repository", () => {
  it("holds no merge conflict markers in any tracked file", () => {
    const grep = spawnSync("git", ["grep", "-n", "-E", "^(<<<<<<< |>>>>>>> )"], {
      cwd: REPO,
      encoding: "utf8",
    });
    // git grep exits 1 when nothing matches, 0 with the matches on stdout.
    expect(grep.status === 1 ? "" : grep.stdout || grep.stderr).toBe("");
  });
});
