/**
 * The files a chaos run leaves: the history (JSON lines: one "run" line with the seed and the
 * options, one "fault" line per fault, one "op" line per operation, times in milliseconds since
 * the run began) and, when the check fails, the anomalous windows as text (anomaly-report.ts).
 */

import { writeFileSync } from "node:fs";
import { renderAnomaly } from "./anomaly-report.js";
import type { Anomaly } from "./checker.js";
import type { Operation } from "./history.js";
import type { FaultRecord } from "./nemesis.js";

export function writeHistory(
  file: string,
  run: Record<string, unknown>,
  faults: readonly FaultRecord[],
  history: readonly Operation[],
): void {
  const lines = [
    JSON.stringify({ type: "run", ...run }),
    ...faults.map((fault) => JSON.stringify({ type: "fault", ...fault })),
    ...history.map((op) => JSON.stringify({ type: "op", ...op })),
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
}

export function writeAnomalies(file: string, header: string, anomalies: readonly Anomaly[]): void {
  writeFileSync(file, [header, "", ...anomalies.map(renderAnomaly)].join("\n"));
}
