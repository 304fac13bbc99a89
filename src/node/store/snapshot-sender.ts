/**
 * The leader's side of snapshot transfer. When a group's ready carries a snapshot message (a
 * follower needs entries the log no longer has), the store hands it here instead of to Send:
 * 1. take a RocksDB snapshot of the partition; it is exactly the state at its applied index A,
 *    which is at or past the core's compaction point I (the log is compacted only behind an
 *    applied index), so it covers everything the follower lacks;
 * 2. replace the message's meta with the meta at A (term and configuration there, from the core;
 *    A is applied, so committed and never to change);
 * 3. stream it (Raft.SendSnapshot). The follower installs it and answers appendResp(A) through
 *    Send; the leader's progress accepts any acknowledgement at or past I.
 * At most one transfer per (group, follower) is in flight: the core asks again after two election
 * timeouts without an answer, and a transfer still running then is not started twice. A failure
 * is logged and dropped; the core's retry starts a fresh transfer.
 */

import type { NodeId, PartitionId } from "../ids.js";
import type { Message, SnapshotMeta } from "../raft/types.js";
import type { PartitionSnapshot } from "../storage/state-machine.js";

const EMPTY = new Uint8Array(0);

export type SnapshotMessage = Extract<Message, { type: "snapshot" }>;

/** Streams a snapshot to message.to (the transport's sendSnapshot). */
export type SendSnapshot = (
  group: PartitionId,
  message: SnapshotMessage,
  chunks: AsyncIterable<Uint8Array>,
) => Promise<{ readonly installed: boolean }>;

export interface SnapshotSenderOptions {
  readonly snapshot: (partition: PartitionId) => Promise<PartitionSnapshot>;
  readonly send: SendSnapshot;
  /** The meta at `index` of the group's log, if the core still has it. */
  readonly metaAt: (group: PartitionId, index: number) => SnapshotMeta | undefined;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  /** A transfer ended: acknowledged by the follower (ok) or not. */
  readonly onDone: (group: PartitionId, ok: boolean) => void;
}

export class SnapshotSender {
  private readonly inFlight = new Set<string>();
  private readonly closing = new AbortController();

  constructor(private readonly o: SnapshotSenderOptions) {}

  /** Starts a transfer for the core's snapshot message, unless one to that follower is running. */
  start(group: PartitionId, message: SnapshotMessage): void {
    const key = `${group}/${message.to}`;
    if (this.closing.signal.aborted || this.inFlight.has(key)) return;
    this.inFlight.add(key);
    const started = Date.now();
    this.transfer(group, message)
      .then(
        ({ meta, installed }) => {
          this.o.log("store.snapshot_sent", {
            partition: group,
            to: message.to,
            index: meta.index,
            term: meta.term,
            installed,
            ms: Date.now() - started,
          });
          this.o.onDone(group, true);
        },
        (error: unknown) => {
          if (!this.closing.signal.aborted) {
            this.o.log("store.snapshot_send_failed", {
              partition: group,
              to: message.to,
              error: error instanceof Error ? error.message : String(error),
            });
          }
          this.o.onDone(group, false);
        },
      )
      .finally(() => this.inFlight.delete(key));
  }

  /** Transfers in flight, as "group/follower". */
  running(): string[] {
    return [...this.inFlight];
  }

  /** Ends the transfers in flight at their next chunk; starts no more. */
  close(): void {
    this.closing.abort();
  }

  private async transfer(
    group: PartitionId,
    message: SnapshotMessage,
  ): Promise<{ meta: SnapshotMeta; installed: boolean }> {
    const image = await this.o.snapshot(group);
    try {
      const meta = this.o.metaAt(group, image.appliedIndex);
      const floor = message.snapshot.meta.index;
      if (meta === undefined || meta.index < floor) {
        throw new Error(
          `the state machine's snapshot is at index ${image.appliedIndex}, which the log cannot describe ` +
            `(it needs an index from ${floor} on, still in the log)`,
        );
      }
      const outgoing: SnapshotMessage = { ...message, snapshot: { meta, data: EMPTY } };
      const { installed } = await this.o.send(group, outgoing, this.abortable(image.chunks(), message.to));
      return { meta, installed };
    } finally {
      await image.close();
    }
  }

  private async *abortable(chunks: AsyncIterable<Uint8Array>, to: NodeId): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      if (this.closing.signal.aborted) throw new Error(`the store closed while sending to node ${to}`);
      yield chunk;
    }
  }
}
