import { Box, Text } from "ink";
import type { PartitionCell } from "../derive.js";
import { right } from "./format.js";

export interface RingGeometry {
  readonly idWidth: number;
  readonly nodeWidth: number;
  readonly perRow: number;
  /** Rows needed to show every partition. */
  readonly rows: number;
}

/** How the cells are laid out in `width` columns. */
export function ringGeometry(cells: readonly PartitionCell[], width: number): RingGeometry {
  const idWidth = `p${Math.max(0, cells.length - 1)}`.length;
  const nodeWidth = Math.max(1, ...cells.flatMap((c) => c.replicas.map((r) => String(r.node).length)));
  const rf = Math.max(1, ...cells.map((c) => c.replicas.length));
  const cellWidth = idWidth + rf * (nodeWidth + 2) + 2;
  const perRow = Math.max(1, Math.floor((width + 1) / cellWidth));
  return { idWidth, nodeWidth, perRow, rows: Math.ceil(cells.length / perRow) };
}

/** A partition cell: id, then its replicas in ring order, the leader in brackets. */
function Cell({ cell, idWidth, nodeWidth }: { cell: PartitionCell; idWidth: number; nodeWidth: number }) {
  const leaderless = cell.leader === 0;
  return (
    <Text>
      <Text color={leaderless ? "red" : undefined} bold={leaderless} dimColor={!leaderless}>
        {right(`p${cell.id}`, idWidth)}
      </Text>
      {cell.replicas.map((r) => {
        const id = right(String(r.node), nodeWidth);
        switch (r.mark) {
          case "leader":
            return (
              <Text key={r.node} color="green" bold>
                [{id}]
              </Text>
            );
          case "lagging":
            return (
              <Text key={r.node} color="yellow">
                {` ${id}~`}
              </Text>
            );
          case "down":
            return (
              <Text key={r.node} color="red" dimColor>
                {` ${id}x`}
              </Text>
            );
          default:
            return <Text key={r.node}>{` ${id} `}</Text>;
        }
      })}
      {leaderless ? <Text color="red">! </Text> : "  "}
    </Text>
  );
}

/**
 * Every partition with its replicas and leader, in as many columns as fit; the rows past
 * `maxRows` are summarised (with the count of leaderless ones among them, which matter most).
 */
export function RingView({
  cells,
  width,
  maxRows,
}: {
  cells: readonly PartitionCell[];
  width: number;
  maxRows: number;
}) {
  const { idWidth, nodeWidth, perRow } = ringGeometry(cells, width);
  const rows: PartitionCell[][] = [];
  for (let i = 0; i < cells.length; i += perRow) rows.push(cells.slice(i, i + perRow));
  const fits = rows.length <= maxRows;
  const shown = fits ? rows : rows.slice(0, Math.max(0, maxRows - 1));
  const hidden = fits ? [] : rows.slice(shown.length).flat();
  const hiddenLeaderless = hidden.filter((c) => c.leader === 0).length;
  return (
    <Box flexDirection="column">
      {shown.map((row) => (
        <Text key={row[0]?.id} wrap="truncate">
          {row.map((cell) => (
            <Cell key={cell.id} cell={cell} idWidth={idWidth} nodeWidth={nodeWidth} />
          ))}
        </Text>
      ))}
      {hidden.length > 0 ? (
        <Text dimColor wrap="truncate">
          … {hidden.length} more partitions
          {hiddenLeaderless > 0 ? <Text color="red">, {hiddenLeaderless} without a leader</Text> : null}
        </Text>
      ) : null}
    </Box>
  );
}
