/**
 * An anomaly as a person reads it: the window's operations in invocation order, one a line,
 * with their times, clients, results and what the window assumed of them.
 */

import type { Anomaly } from "./checker.js";
import { describeOperation, type Operation } from "./history.js";
import { ABSENT } from "./register-model.js";

const MAX_START_STATES_SHOWN = 12;

export function renderAnomaly(anomaly: Anomaly): string {
  const { window, keyOps, values } = anomaly;
  const rows = [...window.ops]
    .sort((a, b) => a.call - b.call)
    .map((encoded) => {
      const op = keyOps[encoded.index] as Operation;
      const notes: string[] = [];
      if (encoded.call > op.invokedAt) notes.push("invoked before the window: may take effect in it");
      if (op.outcome === "ok" && encoded.ret === Infinity) notes.push("still running at the window's end");
      return [
        ms(op.invokedAt),
        op.outcome === "indeterminate" ? `(${ms(op.completedAt)})` : ms(op.completedAt),
        `c${op.client}`,
        describeOperation(op),
        op.outcome + (op.error ? `: ${op.error}` : ""),
        notes.join("; "),
      ];
    });
  const stateName = (id: number) => (id === ABSENT ? "absent" : (values[id] ?? `value #${id}`));
  const start =
    window.start === -Infinity
      ? "The window starts at the beginning of the history, with the key absent."
      : `The window starts at ${ms(window.start)} ms, when no operation on the key was running; ` +
        `the key may have held any of: ${listed(window.startStates.map(stateName))}.`;
  return [
    `key ${anomaly.key}: NOT linearizable`,
    "",
    `No order of these ${rows.length} operations, each taking effect at one instant between its`,
    "invocation and its completion, gives the results they returned. An indeterminate operation may",
    "take effect at any time after its invocation, or never.",
    start,
    "Times are milliseconds since the history began; (t) is when the client gave up.",
    "",
    table(["invoked", "completed", "client", "operation", "outcome", "note"], rows),
    "",
  ].join("\n");
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_START_STATES_SHOWN).join(", ");
  return names.length > MAX_START_STATES_SHOWN
    ? `${shown} and ${names.length - MAX_START_STATES_SHOWN} more`
    : shown;
}

function ms(t: number): string {
  return t.toFixed(1);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
