import { describe, expect, it } from "vitest";
import { TickClock } from "../../src/node/store/tick-clock.js";

describe("TickClock", () => {
  it("owes one tick per elapsed period, all of them at once after a stall, never ahead", () => {
    let now = 1000;
    const clock = new TickClock(50, () => now);
    expect(clock.owed()).toBe(0);
    now += 49;
    expect(clock.owed()).toBe(0);
    now += 1;
    expect(clock.owed()).toBe(1);
    expect(clock.owed()).toBe(0);
    // A stopped process (SIGSTOP) for 2 s: 40 ticks owed on the first look after it.
    now += 2000;
    expect(clock.owed()).toBe(40);
    now += 74;
    expect(clock.owed()).toBe(1);
    now += 26;
    expect(clock.owed()).toBe(1);
  });
});
