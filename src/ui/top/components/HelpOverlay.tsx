import { Box, Text } from "ink";

const KEYS: readonly (readonly [string, string])[] = [
  ["↑ ↓", "select a node"],
  ["k", "kill the selected node (SIGKILL)"],
  ["r", "restart the selected node"],
  ["p", "pause the selected node (SIGSTOP), or resume it"],
  ["y / n", "confirm / cancel"],
  ["?", "show or hide this help"],
  ["q", "quit (the cluster keeps running)"],
];

const LEGEND: readonly (readonly [string, string])[] = [
  ["[n]", "the partition's leader"],
  ["n~", "a replica lagging its leader by 100+ entries"],
  ["nx", "a replica whose node is not up"],
  ["pN!", "a partition without a leader"],
  ["LAG", "entries the node's replicas trail their leaders' commit by (max)"],
];

export function HelpOverlay() {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {KEYS.map(([key, what]) => (
        <Text key={key}>
          <Text bold color="cyan">
            {key.padEnd(7)}
          </Text>
          {what}
        </Text>
      ))}
      <Text bold>Ring</Text>
      {LEGEND.map(([mark, what]) => (
        <Text key={mark}>
          <Text bold>{mark.padEnd(7)}</Text>
          {what}
        </Text>
      ))}
    </Box>
  );
}
