/**
 * Stopping a local cluster: the supervisor stops its nodes (SIGTERM, SIGKILL after the grace
 * period) and exits; node processes it left behind (it died, or was killed) are found by the pids
 * in state.json, checked to be this cluster's nodes (their command line names the node's data
 * directory: a reused pid is left alone) and stopped the same way. `purge` deletes the directory.
 */

import { rmSync } from "node:fs";
import type { ClusterControl } from "./control.js";
import { pidRuns, signalPid, terminatePid, waitGone } from "./processes.js";
import { readSupervisorInfo, readSupervisorState } from "./state.js";
import { STOP_GRACE_MS } from "./supervisor.js";

export interface ClusterDownResult {
  /** Whether anything (supervisor or node) was running. */
  readonly wasRunning: boolean;
  /** Node processes stopped here because the supervisor was gone. */
  readonly orphansStopped: readonly number[];
  readonly purged: boolean;
}

export async function clusterDown(
  control: ClusterControl,
  options: { purge?: boolean } = {},
): Promise<ClusterDownResult> {
  const wasRunning = control.isRunning();
  const info = readSupervisorInfo(control.paths);
  if (control.status().supervisor.alive && info) {
    try {
      await control.shutdown();
    } catch {
      // It did not answer: SIGTERM makes it shut down the same way.
      signalPid(info.pid, "SIGTERM");
    }
    if (!(await waitGone(info.pid, STOP_GRACE_MS + 5000))) {
      signalPid(info.pid, "SIGKILL");
      await waitGone(info.pid, 5000);
    }
  }
  const orphansStopped = await stopOrphans(control);
  if (options.purge) rmSync(control.paths.dir, { recursive: true, force: true });
  else rmSync(control.paths.supervisor, { force: true });
  return { wasRunning, orphansStopped, purged: options.purge === true };
}

/** Stops the node processes recorded in state.json that still run; their pids. */
export async function stopOrphans(control: ClusterControl): Promise<number[]> {
  const state = readSupervisorState(control.paths);
  const orphans = (state?.nodes ?? []).flatMap((node) =>
    node.pid !== null && pidRuns(node.pid, control.paths.dataDir(node.id)) ? [node.pid] : [],
  );
  await Promise.all(orphans.map((pid) => terminatePid(pid, STOP_GRACE_MS)));
  return orphans;
}
