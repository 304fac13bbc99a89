/** The progress bar of `tinyo bench`: fraction done, operations, errors, elapsed time. */

import { Box, Text } from "ink";
import type { Progress } from "../bench/load.js";

const WIDTH = 30;

export function BenchProgress({ progress }: { readonly progress: Progress }) {
  const filled = Math.round(progress.fraction * WIDTH);
  const rate = progress.elapsedMs > 0 ? (progress.done * 1000) / progress.elapsedMs : 0;
  return (
    <Box>
      <Text color="green">{"█".repeat(filled)}</Text>
      <Text color="gray">{"░".repeat(WIDTH - filled)}</Text>
      <Text>
        {` ${(progress.fraction * 100).toFixed(0).padStart(3)}%  ${progress.done} ops  ${rate.toFixed(0)} ops/s  `}
      </Text>
      <Text color={progress.errors > 0 ? "red" : undefined}>{`${progress.errors} errors`}</Text>
      <Text color="gray">{`  ${(progress.elapsedMs / 1000).toFixed(1)} s`}</Text>
    </Box>
  );
}
