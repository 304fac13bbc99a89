/**
 * The dashboard rendered (ink-testing-library) from plain states: healthy, a node down, a
 * partition without a leader, and a narrow terminal. Colours are stripped; the text is checked.
 */

import { render } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { Dashboard, type Footer } from "../../src/ui/top/components/Dashboard.js";
import { sparkline } from "../../src/ui/top/components/Sparkline.js";
import type { TopState } from "../../src/ui/top/model.js";
import { reduce } from "../../src/ui/top/reducer.js";
import { firstLeaders, healthyState, NODES, nodeDownState, status, T0 } from "./fixtures.js";

const HINT: Footer = { text: "q quit", tone: "hint" };
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const plain = (text: string | undefined) => (text ?? "").replace(/\u001b\[[0-9;]*m/g, "");

let unmount: (() => void) | undefined;
afterEach(() => unmount?.());

function frame(state: TopState, width = 100, height = 30, showHelp = false): string {
  const view = render(
    <Dashboard
      state={state}
      now={T0 + 13_000}
      width={width}
      height={height}
      selected={0}
      showHelp={showHelp}
      footer={HINT}
    />,
  );
  unmount = view.unmount;
  return plain(view.lastFrame());
}

const lineOf = (text: string, start: RegExp) => text.split("\n").find((l) => start.test(l)) ?? "";

describe("the dashboard", () => {
  it("shows a healthy cluster: every node UP, every partition led, latency and history", () => {
    const text = frame(healthyState());
    expect(text).toContain("cluster default");
    expect(text).toMatch(/nodes 5\/5 up/);
    expect(text).toMatch(/leaders 8\/8/);
    expect(text).toMatch(/1,000 ops\/s/);
    expect(text).toMatch(/put p50 1\.1 p99 4\.0 ms/);
    for (const id of NODES) {
      const row = lineOf(text, new RegExp(`^[ >]\\s+${id} 127\\.0\\.0\\.1`));
      expect(row).toMatch(/ UP /);
      expect(row).toContain(String(4000 + id)); // pid: the width allows it
    }
    // Node 1 leads partitions 0 and 5 and holds 0, 3, 4 and 5 (replicasOf in the fixtures).
    expect(lineOf(text, /^>\s+1 /)).toMatch(/ 2\/4 /);
    expect(text).toMatch(/p0\s*\[1\] 2 {2}3/);
    const ring = text.split("\n").filter((l) => /^\s*p\d/.test(l));
    expect(ring.join("\n")).not.toContain("!");
    expect(text).toContain("no events yet");
    expect(text).toMatch(/p99 max 4\.0 ms █+/); // a flat minute at the top of its own scale
  });

  it("shows a node DOWN, since when, its replicas crossed out, its partitions leaderless, and the event", () => {
    const text = frame(nodeDownState());
    expect(text).toMatch(/nodes 4\/5 up/);
    expect(text).toMatch(/leaders 6\/8/);
    expect(lineOf(text, /^>\s+1 /)).toMatch(/DOWN 12s/);
    expect(text).toMatch(/p0\s*1x 2 {2}3 !/);
    expect(text).toMatch(/p3\s*\[4\] 5 {2}1x/);
    expect(text).toContain("node 1 is down: it led 2 partitions");
  });

  it("flags a partition without a leader and a lagging replica", () => {
    let state = healthyState();
    const leaders = firstLeaders();
    leaders.set(2, 0);
    for (const id of NODES) {
      const applied = (p: number) => (id === 4 && p === 1 ? 100 : 500);
      state = reduce(state, { type: "status", at: T0 + 2000, status: status(id, { leaders, applied }) });
    }
    const text = frame(state);
    expect(text).toMatch(/leaders 7\/8/);
    expect(text).toMatch(/p2\s*3 {2}4 {2}5 !/);
    expect(text).toMatch(/p1\s*\[2\] 3 {2}4~/);
    expect(lineOf(text, /^[ >]\s+4 /)).toMatch(/ 400 /); // its lag, entries
    expect(text).toContain("partition 2 has no leader (was node 3)");
  });

  it("fits 80x24: the essential columns, every node, the ring and the footer", () => {
    const text = frame(nodeDownState(), 80, 24);
    const lines = text.split("\n");
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(text).not.toContain("PID");
    for (const id of NODES) expect(text).toMatch(new RegExp(`^[ >]\\s+${id} 127`, "m"));
    expect(text).toContain("P99ms");
    expect(text).toContain("DOWN 12s");
    expect(lines.at(-1)).toBe("q quit");
  });

  it("summarises the partitions that do not fit a short terminal, leaderless ones first", () => {
    const text = frame(nodeDownState(), 40, 16);
    expect(text).toMatch(/… \d+ more partitions, \d+ without a leader/);
  });

  it("shows the help overlay in place of the ring", () => {
    const text = frame(healthyState(), 100, 30, true);
    expect(text).toContain("kill the selected node");
    expect(text).not.toContain("Partitions");
  });
});

describe("the sparkline", () => {
  it("scales to the highest point and leaves gaps where nothing was served", () => {
    const points = [1, 2, undefined, 8].map((p99Ms, i) => ({ at: i, p99Ms }));
    expect(sparkline(points, 6)).toBe("  ▁▂ █");
  });
});
