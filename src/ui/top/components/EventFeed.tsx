import { Box, Text } from "ink";
import type { EventKind, FeedEvent } from "../model.js";
import { clock } from "./format.js";

const COLORS: Record<EventKind, string | undefined> = {
  election: "yellow",
  "leader-change": "cyan",
  leaderless: "red",
  "node-down": "red",
  "node-up": "green",
  snapshot: "blue",
  membership: "magenta",
};

/** The newest events that fit, newest last (like a log). */
export function EventFeed({ events, rows }: { events: readonly FeedEvent[]; rows: number }) {
  const shown = rows > 0 ? events.slice(-rows) : [];
  return (
    <Box flexDirection="column">
      {shown.length === 0 && rows > 0 ? <Text dimColor>no events yet</Text> : null}
      {shown.map((e) => (
        <Text key={e.id} wrap="truncate">
          <Text dimColor>{clock(e.at)} </Text>
          <Text color={COLORS[e.kind]}>{e.text}</Text>
        </Text>
      ))}
    </Box>
  );
}
