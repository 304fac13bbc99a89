import { Box, Text } from "ink";
import type { Summary } from "../derive.js";
import type { TopState } from "../model.js";
import { ms, rate } from "./format.js";
import { Sparkline } from "./Sparkline.js";

/** Two lines: the cluster at a glance, then cluster-wide latency with a minute of p99 history. */
export function Header({ state, summary, width }: { state: TopState; summary: Summary; width: number }) {
  const { figures } = state;
  const nodesOk = summary.nodesUp === summary.nodesTotal;
  const leadersOk = summary.partitionsLed === summary.partitionsTotal;
  const latency = `put p50 ${ms(figures.puts?.p50Ms)} p99 ${ms(figures.puts?.p99Ms)} ms   get p50 ${ms(
    figures.gets?.p50Ms,
  )} p99 ${ms(figures.gets?.p99Ms)} ms`;
  const peak = Math.max(0, ...state.latency.map((p) => p.p99Ms ?? 0));
  const sparkLabel = `   p99 max ${ms(peak)} ms `;
  const sparkWidth = Math.max(0, Math.min(60, width - latency.length - sparkLabel.length));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold>tinyo top</Text> <Text dimColor>·</Text> cluster <Text bold>{state.cluster}</Text>
        {"   nodes "}
        <Text color={nodesOk ? "green" : "red"} bold>
          {summary.nodesUp}/{summary.nodesTotal}
        </Text>
        {" up   leaders "}
        <Text color={leadersOk ? "green" : "red"} bold>
          {summary.partitionsLed}/{summary.partitionsTotal}
        </Text>
        {"   "}
        <Text bold>{rate(figures.opsPerSecond)}</Text> ops/s
      </Text>
      <Text wrap="truncate">
        {latency}
        {sparkWidth >= 10 ? (
          <>
            {sparkLabel}
            <Sparkline points={state.latency} width={sparkWidth} />
          </>
        ) : null}
      </Text>
    </Box>
  );
}
