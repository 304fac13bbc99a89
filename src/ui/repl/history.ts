/** The REPL's history file: one command per line, oldest first, the newest HISTORY_SIZE kept. */

import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const HISTORY_SIZE = 1000;

/** The history, newest first (as readline wants it). */
export function loadHistory(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines = text.split("\n").filter((l) => l.trim().length > 0);
  if (lines.length > HISTORY_SIZE * 2) writeFileSync(path, `${lines.slice(-HISTORY_SIZE).join("\n")}\n`);
  return lines.slice(-HISTORY_SIZE).reverse();
}

export function appendHistory(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${line.replace(/\n/g, " ")}\n`);
}
