import { Box, Text } from "ink";
import type { NodeRow } from "../derive.js";
import type { Reachability } from "../model.js";
import { duration, ms, padRight, rate, right } from "./format.js";

interface Column {
  readonly title: string;
  readonly width: number;
  readonly align: "left" | "right";
  readonly value: (row: NodeRow) => string;
  /** Shown only when the terminal is at least this wide. */
  readonly minWidth?: number;
}

const STATE_COLORS: Record<Reachability, string> = {
  UP: "green",
  DOWN: "red",
  PAUSED: "yellow",
  UNREACHABLE: "magenta",
};

function stateText(row: NodeRow): string {
  if (row.state === "UP" || row.forSeconds === undefined) return row.state;
  return `${row.state === "UNREACHABLE" ? "UNREACH" : row.state} ${duration(row.forSeconds)}`;
}

const COLUMNS: readonly Column[] = [
  { title: "ID", width: 3, align: "right", value: (r) => String(r.id) },
  { title: "ADDRESS", width: 16, align: "left", value: (r) => r.address },
  { title: "STATE", width: 11, align: "left", value: stateText },
  { title: "PID", width: 8, align: "right", value: (r) => (r.pid ? String(r.pid) : "-"), minWidth: 96 },
  { title: "UPTIME", width: 8, align: "right", value: (r) => duration(r.uptimeSeconds), minWidth: 96 },
  { title: "LEAD/REP", width: 8, align: "right", value: (r) => `${r.led}/${r.held}` },
  {
    title: "TERMS",
    width: 7,
    align: "right",
    value: (r) =>
      r.terms ? (r.terms.min === r.terms.max ? `${r.terms.min}` : `${r.terms.min}..${r.terms.max}`) : "-",
  },
  {
    title: "MOVES",
    width: 5,
    align: "right",
    value: (r) => (r.moves ? `${r.moves.learners}/${r.moves.inFlight}` : "-"),
    minWidth: 110,
  },
  { title: "LAG", width: 5, align: "right", value: (r) => (r.lag === undefined ? "-" : String(r.lag)) },
  { title: "OPS/S", width: 7, align: "right", value: (r) => rate(r.opsPerSecond) },
  { title: "P50ms", width: 6, align: "right", value: (r) => ms(r.latency?.p50Ms) },
  { title: "P99ms", width: 6, align: "right", value: (r) => ms(r.latency?.p99Ms) },
];

const cell = (c: Column, text: string) =>
  c.align === "left" ? padRight(text, c.width) : right(text, c.width);

/** One row per node; the selected one (for k/r/p) is drawn inverse. */
export function NodeTable({
  rows,
  selected,
  width,
}: {
  rows: readonly NodeRow[];
  selected: number;
  width: number;
}) {
  const columns = COLUMNS.filter((c) => (c.minWidth ?? 0) <= width);
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {` ${columns.map((c) => cell(c, c.title)).join(" ")}`}
      </Text>
      {rows.map((row, i) => (
        <Text key={row.id} inverse={i === selected} wrap="truncate">
          {i === selected ? ">" : " "}
          {columns.map((c, j) => (
            <Text key={c.title} color={c.title === "STATE" ? STATE_COLORS[row.state] : undefined}>
              {j > 0 ? " " : ""}
              {cell(c, c.value(row))}
            </Text>
          ))}
        </Text>
      ))}
    </Box>
  );
}
