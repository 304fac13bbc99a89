import { Text } from "ink";
import type { LatencyPoint } from "../model.js";

const BLOCKS = "▁▂▃▄▅▆▇█";

/** The last `width` points as block characters, scaled to the highest; gaps where nothing was served. */
export function sparkline(points: readonly LatencyPoint[], width: number): string {
  const shown = points.slice(-width);
  const max = Math.max(0, ...shown.map((p) => p.p99Ms ?? 0));
  const line = shown
    .map((p) => {
      if (p.p99Ms === undefined) return " ";
      if (max === 0) return BLOCKS[0];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor((p.p99Ms / max) * (BLOCKS.length - 1)))];
    })
    .join("");
  return line.padStart(width);
}

export function Sparkline({ points, width }: { points: readonly LatencyPoint[]; width: number }) {
  return <Text color="cyan">{sparkline(points, width)}</Text>;
}
