/**
 * Looking at processes by pid, for the processes a cluster left behind when its supervisor died:
 * is it alive (a zombie is not), and is it really this cluster's node (a pid can be reused).
 */

import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return processState(pid) !== "Z";
}

/** The one-letter state from /proc/<pid>/stat (R, S, T, Z...), or undefined without /proc. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/**
 * Whether the live process `pid` has `marker` (e.g. a node's data directory) in its command
 * line. Without /proc (not Linux), a live pid is trusted.
 */
export function pidRuns(pid: number, marker: string): boolean {
  if (!pidAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return processState(pid) === undefined;
  }
  return cmdline.split("\0").includes(marker);
}

/** Sends `signal`; false when the process is gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM (after SIGCONT, in case it is paused), then SIGKILL once `graceMs` has passed. */
export async function terminatePid(pid: number, graceMs: number): Promise<void> {
  signalPid(pid, "SIGCONT");
  if (!signalPid(pid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) {
      signalPid(pid, "SIGKILL");
      await waitGone(pid, 5000);
      return;
    }
    await sleep(50);
  }
}

/** Waits until the pid is gone (or `timeoutMs` passed); whether it is gone. */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
  return true;
}
