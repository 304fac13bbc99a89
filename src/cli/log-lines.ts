/** A node's JSON log lines (pino) made readable: time, level, message, then the other fields. */

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const HIDDEN = new Set(["time", "level", "msg", "pid", "hostname"]);

export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== "object" || entry === null) return line;
  const time =
    typeof entry.time === "number" || typeof entry.time === "string" ? new Date(entry.time) : undefined;
  const clock = time && !Number.isNaN(time.getTime()) ? time.toISOString().slice(11, 23) : "";
  const level = LEVELS[Number(entry.level)] ?? String(entry.level ?? "");
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return [clock, level.padEnd(5), String(entry.msg ?? entry.event ?? ""), ...fields].join(" ").trim();
}
