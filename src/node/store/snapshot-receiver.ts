/**
 * The follower's side of snapshot transfer: a leader streams a partition's state at index A
 * (Raft.SendSnapshot), with the snapshot message whose meta is at A.
 *
 * - The message is from an older term: the core would ignore it; so do we (not installed).
 * - A <= the group's commit index, or the log holds A's entry with A's term: the log reaches
 *   that far already. The message is stepped into the core, which answers appendResp (its
 *   commit index, or A once it commits to A), and nothing is installed.
 * - Otherwise the snapshot replaces the group's state:
 *   1. the group is frozen (`installing`): the store stops ticking it, stepping messages into it
 *      (they are dropped: Raft resends), taking its readies and serving its requests, and waits
 *      for the ready cycle in flight, which may be applying one of its readies;
 *   2. the decision is checked again (the cycle may have moved the group), and the chunks are
 *      installed in the state machine: durable, with the snapshot's Raft meta beside its applied
 *      index (restart-state.ts uses it if a crash comes before step 4 is durable);
 *   3. the message is stepped into the core, which restores its log to A (nothing in the frozen
 *      group changed, so it does);
 *   4. the group thaws; its next ready carries the snapshot, whose meta the store writes to the
 *      Raft log (which drops the group's stored entries) and does not apply: the state machine
 *      already holds it. Committed entries after A apply as usual.
 * An install that fails leaves the partition as it was (the state machine installs up to 32 MiB
 * in one batch) and the group thaws; one that wiped the partition first (a larger snapshot cut
 * short) leaves nothing safe to serve, and the store stops.
 */

import type { PartitionId } from "../ids.js";
import type { RaftNode } from "../raft/raft.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { InboundSnapshot, SnapshotReceipt } from "../transport/snapshot-stream.js";
import { SnapshotBusyError } from "./errors.js";
import type { Group } from "./group.js";

export type { InboundSnapshot, SnapshotReceipt };

export interface ReceiverHost {
  readonly stateMachine: {
    appliedIndex(partition: PartitionId): number | Promise<number>;
    installSnapshot(
      partition: PartitionId,
      appliedIndex: number,
      chunks: AsyncIterable<Uint8Array>,
      raftMeta: SnapshotMeta,
    ): Promise<void>;
  };
  /** The ready cycle in flight (settled when there is none). */
  cycleDone(): Promise<void>;
  isClosed(): boolean;
  schedule(): void;
  /** Delivers the ticks real time owes; before stepping a message (see Store.receive). */
  catchUpTicks(): void;
  fail(error: Error): void;
  log(event: string, fields: Record<string, unknown>): void;
}

type Decision = "ignore" | "step" | "install";

/** What to do with the snapshot message; mirrors the core's handleSnapshot. */
function decide(raft: RaftNode, message: InboundSnapshot["message"]): Decision {
  const { index, term } = message.snapshot.meta;
  if (message.term < raft.term || (message.term === raft.term && raft.role === "leader")) return "ignore";
  if (index <= raft.commitIndex || raft.termAt(index) === term) return "step";
  return "install";
}

export async function receiveSnapshot(
  group: Group,
  { message, chunks, from }: InboundSnapshot,
  host: ReceiverHost,
): Promise<SnapshotReceipt> {
  const { partition, raft } = group;
  if (group.installing) throw new SnapshotBusyError(partition);
  const meta = message.snapshot.meta;
  const skip = (decision: Decision): SnapshotReceipt => {
    if (decision === "step") {
      host.catchUpTicks();
      raft.step(message);
      host.schedule();
    }
    return { installed: false };
  };
  const first = decide(raft, message);
  if (first !== "install") return skip(first);
  group.installing = true;
  try {
    await host.cycleDone();
    if (host.isClosed()) throw new Error("the store is closing");
    const decision = decide(raft, message);
    if (decision !== "install") return skip(decision);
    const started = Date.now();
    const before = await host.stateMachine.appliedIndex(partition);
    try {
      await host.stateMachine.installSnapshot(partition, meta.index, chunks, meta);
    } catch (error) {
      if ((await host.stateMachine.appliedIndex(partition)) !== before) {
        const why = error instanceof Error ? error.message : String(error);
        host.fail(new Error(`partition ${partition}: a snapshot install failed half way (${why})`));
      }
      throw error;
    }
    host.catchUpTicks();
    raft.step(message);
    if (raft.snapshotMeta.index !== meta.index) {
      host.fail(new Error(`partition ${partition}: the core did not restore the installed snapshot`));
    }
    host.log("store.snapshot_installed", {
      partition,
      from,
      index: meta.index,
      term: meta.term,
      ms: Date.now() - started,
    });
    return { installed: true };
  } finally {
    group.installing = false;
    host.schedule();
  }
}
