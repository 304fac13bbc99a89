/** Which failures are definite, and the chaos command's flag parsing. */

import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { classifyFailure } from "../../src/chaos/classify.js";
import { ChaosUsageError, parseDuration, parseNemesis, parseSeed } from "../../src/chaos/options.js";

describe("classifyFailure", () => {
  it("a put refused as InvalidArgument was never proposed: failed", () => {
    expect(classifyFailure("put", new ConnectError("the key is empty", Code.InvalidArgument)).outcome).toBe(
      "failed",
    );
  });

  it("any other put failure may have taken effect: indeterminate", () => {
    for (const code of [Code.DeadlineExceeded, Code.Unavailable, Code.Internal, Code.Canceled]) {
      expect(classifyFailure("put", new ConnectError("x", code)).outcome).toBe("indeterminate");
    }
    expect(classifyFailure("put", new Error("socket hang up")).outcome).toBe("indeterminate");
  });

  it("a failed get is just failed, with the code in the error", () => {
    const classified = classifyFailure("get", new ConnectError("no leader", Code.Unavailable));
    expect(classified).toEqual({ outcome: "failed", error: "Unavailable: no leader" });
  });
});

describe("chaos flags", () => {
  it("durations in ms, s, m, h or bare seconds, within 1 s to 24 h", () => {
    expect(parseDuration("60s")).toBe(60_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1500ms")).toBe(1500);
    expect(parseDuration("5")).toBe(5000);
    expect(() => parseDuration("500ms")).toThrow(ChaosUsageError);
    expect(() => parseDuration("25h")).toThrow("from 1s to 24h");
  });

  it("nemesis lists, deduplicated, and none", () => {
    expect(parseNemesis("kill,pause,kill")).toEqual(["kill", "pause"]);
    expect(parseNemesis("none")).toEqual([]);
    expect(() => parseNemesis("kill,clock")).toThrow('"clock" is not one of kill, pause, partition');
  });

  it("seeds are whole numbers", () => {
    expect(parseSeed("42")).toBe(42);
    expect(() => parseSeed("-1")).toThrow(ChaosUsageError);
  });
});
