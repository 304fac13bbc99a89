/** Fixed-width text for the dashboard's columns. */

export const padRight = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.padEnd(width);

export const right = (text: string, width: number): string =>
  text.length > width ? text.slice(0, width) : text.padStart(width);

/** Milliseconds, two significant figures-ish: 0.42, 3.1, 27, 1.2s. */
export function ms(value: number | undefined): string {
  if (value === undefined) return "-";
  if (value >= 1000) return `${(value / 1000).toFixed(1)}s`;
  if (value >= 10) return value.toFixed(0);
  if (value >= 1) return value.toFixed(1);
  return value.toFixed(2);
}

/** A duration in seconds: 42s, 7m03s, 3h12m, 2d04h. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return "-";
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(seconds % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

export const rate = (value: number | undefined): string =>
  value === undefined ? "-" : value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);

export function clock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}
