import { Box, Text } from "ink";
import { nodeRows, partitionCells, summary } from "../derive.js";
import type { TopState } from "../model.js";
import { EventFeed } from "./EventFeed.js";
import { Header } from "./Header.js";
import { HelpOverlay } from "./HelpOverlay.js";
import { NodeTable } from "./NodeTable.js";
import { RingView, ringGeometry } from "./RingView.js";

export interface Footer {
  readonly text: string;
  readonly tone: "hint" | "ask" | "error" | "done";
}

export interface DashboardProps {
  readonly state: TopState;
  readonly now: number;
  readonly width: number;
  readonly height: number;
  /** Index into the node table. */
  readonly selected: number;
  readonly showHelp: boolean;
  readonly footer: Footer;
}

const MIN_EVENT_ROWS = 3;
const TONES: Record<Footer["tone"], string | undefined> = {
  hint: undefined,
  ask: "yellow",
  error: "red",
  done: "green",
};

/**
 * The whole screen, from a state and a size: header, node table, ring, events, footer. The ring
 * gets the rows it needs once the events have MIN_EVENT_ROWS; the events take what is left.
 */
export function Dashboard({ state, now, width, height, selected, showHelp, footer }: DashboardProps) {
  const rows = nodeRows(state, now);
  const cells = partitionCells(state);
  // header 2, table title + rows, ring title, events title, footer
  const fixed = 2 + 1 + rows.length + 1 + 1 + 1;
  const free = Math.max(0, height - fixed);
  const ringRows = Math.max(1, free - MIN_EVENT_ROWS);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header state={state} summary={summary(state)} width={width} />
      <NodeTable rows={rows} selected={selected} width={width} />
      {showHelp ? (
        <HelpOverlay />
      ) : (
        <RingLayout cells={cells} width={width} maxRows={ringRows} free={free} state={state} />
      )}
      <Box flexGrow={1} />
      <Text color={TONES[footer.tone]} dimColor={footer.tone === "hint"} wrap="truncate">
        {footer.text}
      </Text>
    </Box>
  );
}

function RingLayout({
  cells,
  width,
  maxRows,
  free,
  state,
}: {
  cells: ReturnType<typeof partitionCells>;
  width: number;
  maxRows: number;
  free: number;
  state: TopState;
}) {
  const ringRows = Math.min(maxRows, ringGeometry(cells, width).rows);
  const eventRows = Math.max(0, free - ringRows);
  return (
    <>
      <Text bold wrap="truncate">
        Partitions <Text dimColor>(replicas in ring order, [leader], ~ lagging, x down, ! no leader)</Text>
      </Text>
      <RingView cells={cells} width={width} maxRows={ringRows} />
      <Text bold>Events</Text>
      <EventFeed events={state.events} rows={eventRows} />
    </>
  );
}
