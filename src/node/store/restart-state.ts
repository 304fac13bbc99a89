/**
 * What a group's Raft core restarts from: the Raft log's stored state (hard state, the snapshot
 * meta where the stored log starts, the entries after it) and the applied index that survived
 * in the state machine.
 *
 * The log is compacted only behind an applied index made durable by a state-machine flush, and
 * a snapshot's meta is written to the log only after the snapshot is installed (and flushed) in
 * the state machine, so the applied index is never behind the log's snapshot meta. One crash
 * window remains, between an install and the log's record of it: the state machine is then at
 * the snapshot's index, past the log's commit index. The install kept the snapshot's Raft meta
 * beside the applied index (StateMachine.installedSnapshotMeta), so the restart completes what
 * the crash interrupted: it writes that meta to the log (`repair`) as the lost ready would have.
 */

import type { PartitionId } from "../ids.js";
import type { Config, Entry, RestartState, SnapshotMeta } from "../raft/types.js";
import type { GroupWrite, StoredGroup } from "../storage/raft-engine.js";
import { StoreOpenError } from "./errors.js";

const EMPTY = new Uint8Array(0);

export interface RestartPlan {
  readonly state: RestartState;
  /** To write to the Raft log before the core starts: an install the log did not record. */
  readonly repair: GroupWrite | undefined;
}

export function planRestart(
  partition: PartitionId,
  stored: StoredGroup,
  applied: number,
  installed: SnapshotMeta | undefined,
  initialConfig: Config,
): RestartPlan {
  let meta = stored.snapshot ?? { index: 0, term: 0, config: initialConfig };
  let { entries, hardState } = stored;
  let repair: GroupWrite | undefined;
  if (installed !== undefined && installed.index > meta.index && installed.index === applied) {
    // The entries after the snapshot stay only if the log holds the snapshot's own entry (then
    // they continue the leader's log); otherwise none of them can be committed.
    const at = entries.find((e) => e.index === installed.index);
    entries = at?.term === installed.term ? entries.filter((e) => e.index > installed.index) : [];
    hardState = { ...hardState, commit: Math.max(hardState.commit, installed.index) };
    meta = installed;
    repair = { group: partition, snapshot: installed, entries, hardState };
  }
  if (applied < meta.index) {
    throw new StoreOpenError(
      `partition ${partition}: its state machine is at index ${applied} but its Raft log starts after ` +
        `index ${meta.index} (a crash interrupted the install of a snapshot too large for one batch, ` +
        "which wiped the partition): the entries in between are gone from this node, which refuses to " +
        "start rather than serve the partition wrong (see docs/node.md, known limits)",
    );
  }
  // A change of the commit index alone is not written (Group.hardStateToWrite): the stored one
  // may lag what the state machine applied, and what was applied was committed.
  if (hardState.commit < applied) hardState = { ...hardState, commit: applied };
  const state: RestartState = {
    hardState,
    snapshot: { meta, data: EMPTY },
    entries: entries as Entry[],
    applied,
  };
  return { state, repair };
}
