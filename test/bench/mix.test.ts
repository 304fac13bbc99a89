import { describe, expect, it } from "vitest";
import { MixError, parseMix, pickOperation } from "../../src/bench/mix.js";

describe("parseMix", () => {
  it("normalizes weights into cumulative fractions, in a fixed operation order", () => {
    const mix = parseMix("get=75,put=25");
    expect(mix.operations).toEqual(["put", "get"]);
    expect(mix.cumulative).toEqual([0.25, 1]);
  });

  it("drops zero weights and accepts spaces", () => {
    const mix = parseMix(" put = 1 , get=0, delete=3 ");
    expect(mix.operations).toEqual(["put", "delete"]);
    expect(mix.cumulative).toEqual([0.25, 1]);
  });

  it.each([
    ["", "bad mix entry"],
    ["put", "bad mix entry"],
    ["put=-1", "bad mix entry"],
    ["scan=5", 'unknown operation "scan"'],
    ["put=1,put=2", "appears twice"],
    ["put=0,get=0", "no operation with a positive weight"],
    ["put=1000001", "above 1000000"],
  ])("refuses %j", (text, message) => {
    expect(() => parseMix(text)).toThrow(MixError);
    expect(() => parseMix(text)).toThrow(message);
  });
});

describe("pickOperation", () => {
  it("maps a uniform draw onto the weights", () => {
    const mix = parseMix("put=25,get=75");
    expect(pickOperation(mix, 0)).toBe("put");
    expect(pickOperation(mix, 0.2499)).toBe("put");
    expect(pickOperation(mix, 0.25)).toBe("get");
    expect(pickOperation(mix, 0.9999)).toBe("get");
  });

  it("gives each operation its share of evenly spread draws", () => {
    const mix = parseMix("put=1,get=2,delete=1");
    const counts = { put: 0, get: 0, delete: 0 };
    for (let i = 0; i < 4000; i++) counts[pickOperation(mix, i / 4000)]++;
    expect(counts).toEqual({ put: 1000, get: 2000, delete: 1000 });
  });
});
