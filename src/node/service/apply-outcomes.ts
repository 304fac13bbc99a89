/**
 * The state machine as the store sees it, plus a short memory of what each applied delete did,
 * for the KV service's answers: the store resolves a proposal with its log position only, but
 * a DeleteResponse says whether the key existed, and a retried delete (same request id) is
 * answered with the index of its first application. Puts are answered at commit, before their
 * apply (kv-operations.ts), so nothing is kept for them: a batch without deletes costs nothing
 * here.
 *
 * "Existed" is read just before the batch is applied (the store applies one partition's batches
 * one at a time, so nothing else writes the partition meanwhile) and carried through the batch
 * in log order. Outcomes are kept for the most recent MAX_REMEMBERED deletes of all partitions:
 * a proposal reads its outcome as soon as it is applied, long before it is forgotten.
 */

import type { PartitionId } from "../ids.js";
import type { SnapshotMeta } from "../raft/types.js";
import { type Command, decodeCommand, isDeleteCommand } from "../storage/commands.js";
import type {
  ApplyEntry,
  ApplyOutcome,
  PartitionEntries,
  PartitionSnapshot,
  StateMachine,
} from "../storage/state-machine.js";
import type { ReplicatedStateMachine } from "../store/store.js";

export type EntryOutcome =
  | { readonly kind: "delete"; readonly existed: boolean }
  /** A retry of a write applied before at `appliedAt`; `existed` is the first delete's, when still known. */
  | { readonly kind: "duplicate"; readonly appliedAt: number; readonly existed: boolean | undefined }
  | { readonly kind: "rejected"; readonly reason: string };

const MAX_REMEMBERED = 50_000;

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");

export class ApplyOutcomes implements ReplicatedStateMachine {
  private readonly outcomes = new Map<string, EntryOutcome>();

  constructor(private readonly stateMachine: StateMachine) {}

  async appliedIndex(partition: PartitionId): Promise<number> {
    return this.stateMachine.appliedIndex(partition);
  }

  async applyBatch(batches: readonly PartitionEntries[]): Promise<void> {
    // Whether each deleted key exists before its batch: one read per distinct key.
    const exists = batches.map(() => new Map<string, boolean>());
    await Promise.all(
      batches.flatMap(({ partition, entries }, b) =>
        entries.map(async (entry) => {
          if (!isDeleteCommand(entry.data)) return;
          const command = decodeOrUndefined(entry.data);
          if (command?.type !== "delete") return;
          const known = exists[b] as Map<string, boolean>;
          const key = hex(command.key);
          if (known.has(key)) return;
          known.set(key, false);
          known.set(key, (await this.stateMachine.get(partition, command.key)) !== undefined);
        }),
      ),
    );
    const applied = await this.stateMachine.applyBatch(batches);
    batches.forEach(({ partition, entries }, b) => {
      this.remember(partition, entries, applied[b] ?? [], exists[b] as Map<string, boolean>);
    });
  }

  private remember(
    partition: PartitionId,
    entries: readonly ApplyEntry[],
    applied: readonly ApplyOutcome[],
    exists: Map<string, boolean>,
  ): void {
    // Only a batch with deletes needs its puts' keys (a put before a delete of its key).
    const hasDeletes = exists.size > 0;
    applied.forEach((outcome, i) => {
      let remembered: EntryOutcome;
      switch (outcome.kind) {
        case "noop":
          return;
        case "rejected":
          remembered = { kind: "rejected", reason: outcome.reason };
          break;
        case "duplicate": {
          if (outcome.command.type === "put") return;
          const first = this.outcomes.get(`${partition}:${outcome.appliedAt}`);
          remembered = {
            kind: "duplicate",
            appliedAt: outcome.appliedAt,
            existed: first?.kind === "delete" ? first.existed : undefined,
          };
          break;
        }
        case "applied": {
          if (outcome.command.type === "put") {
            if (hasDeletes) exists.set(hex(outcome.command.key), true);
            return;
          }
          const key = hex(outcome.command.key);
          remembered = { kind: "delete", existed: exists.get(key) ?? false };
          exists.set(key, false);
          break;
        }
      }
      this.keep(`${partition}:${entries[i]?.index ?? outcome.index}`, remembered);
    });
  }

  flush(): Promise<ReadonlyMap<PartitionId, number>> {
    return this.stateMachine.flush();
  }

  snapshot(partition: PartitionId): Promise<PartitionSnapshot> {
    return this.stateMachine.snapshot(partition);
  }

  /** Outcomes of entries the snapshot covers are not known here: lookups miss, as for old ones. */
  installSnapshot(
    partition: PartitionId,
    appliedIndex: number,
    chunks: AsyncIterable<Uint8Array>,
    raftMeta: SnapshotMeta,
  ): Promise<void> {
    return this.stateMachine.installSnapshot(partition, appliedIndex, chunks, raftMeta);
  }

  installedSnapshotMeta(partition: PartitionId): Promise<SnapshotMeta | undefined> {
    return this.stateMachine.installedSnapshotMeta(partition);
  }

  deletePartition(partition: PartitionId): Promise<void> {
    return this.stateMachine.deletePartition(partition);
  }

  /** What the delete at `index` of the partition did, if applied recently on this node. */
  outcomeOf(partition: PartitionId, index: number): EntryOutcome | undefined {
    return this.outcomes.get(`${partition}:${index}`);
  }

  private keep(key: string, outcome: EntryOutcome): void {
    this.outcomes.set(key, outcome);
    if (this.outcomes.size > MAX_REMEMBERED) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.outcomes.keys().next();
      if (!oldest.done) this.outcomes.delete(oldest.value);
    }
  }
}

function decodeOrUndefined(data: Uint8Array): Command | undefined {
  if (data.length === 0) return undefined;
  try {
    return decodeCommand(data);
  } catch {
    return undefined; // the state machine rejects it, and says why
  }
}
