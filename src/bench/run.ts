/** One `tinyo bench` run against a tinyo cluster: connect, load, report, disconnect. */

import { Consistency } from "../client/tinyo-client.js";
import { type Progress, runLoad } from "./load.js";
import type { BenchOptions, ConsistencyName } from "./options.js";
import { type BenchReport, buildReport } from "./report.js";
import { type TinyoCallMode, TinyoTarget } from "./tinyo-target.js";

const CONSISTENCY: Record<ConsistencyName, Consistency> = {
  linearizable: Consistency.LINEARIZABLE,
  lease: Consistency.LEASE,
  stale: Consistency.STALE,
};

export async function runTinyoBench(
  endpoints: readonly string[],
  options: BenchOptions,
  mode: TinyoCallMode,
  onProgress?: (progress: Progress) => void,
): Promise<BenchReport> {
  const target = new TinyoTarget({ endpoints, consistency: CONSISTENCY[options.consistency], mode });
  try {
    await target.prepare();
    const result = await runLoad(target, { ...options, onProgress });
    return buildReport(result);
  } finally {
    await target.close();
  }
}
