/**
 * Records the history of a chaos run: every operation, with its invocation and completion read
 * from one monotonic clock (performance.now, shared by all clients, which run in this process),
 * its result, or its failure classified as definite or indeterminate (classify.ts). Nothing is
 * dropped: a failure is recorded with its error.
 */

import { classifyFailure } from "./classify.js";
import type { GetOperation, Operation, PutOperation } from "./history.js";

/** What a client asked (a get's value is its result, filled in when it answers). */
type Invocation =
  | Pick<PutOperation, "client" | "key" | "kind" | "value">
  | Pick<GetOperation, "client" | "key" | "kind" | "value">;

export interface HistoryCounts {
  readonly ok: number;
  readonly failed: number;
  readonly indeterminate: number;
}

export class HistoryRecorder {
  private readonly ops: Operation[] = [];
  private readonly origin = performance.now();
  private counts = { ok: 0, failed: 0, indeterminate: 0 };

  /** Milliseconds since the recorder was made. */
  now(): number {
    return performance.now() - this.origin;
  }

  get history(): readonly Operation[] {
    return this.ops;
  }

  get tally(): HistoryCounts {
    return { ...this.counts };
  }

  async put(client: number, key: string, value: string, send: () => Promise<unknown>): Promise<void> {
    const invocation: Invocation = { client, key, kind: "put", value };
    await this.record(invocation, async () => {
      await send();
      return invocation;
    });
  }

  /** Records a get; returns what it read (undefined when it failed). */
  async get(
    client: number,
    key: string,
    send: () => Promise<string | null>,
  ): Promise<string | null | undefined> {
    let read: string | null | undefined;
    await this.record({ client, key, kind: "get", value: null }, async () => {
      read = await send();
      return { client, key, kind: "get", value: read };
    });
    return read;
  }

  /**
   * Runs `send`, which answers the invocation with its result filled in. The slot is taken at
   * invocation, so that the history is in invocation order.
   */
  private async record(invocation: Invocation, send: () => Promise<Invocation>): Promise<void> {
    const id = this.ops.length;
    const invokedAt = this.now();
    this.ops.push({ ...invocation, id, invokedAt, completedAt: invokedAt, outcome: "indeterminate" });
    try {
      const answered = await send();
      this.finish({ ...answered, id, invokedAt, completedAt: this.now(), outcome: "ok" });
    } catch (error) {
      const { outcome, error: text } = classifyFailure(invocation.kind, error);
      this.finish({ ...invocation, id, invokedAt, completedAt: this.now(), outcome, error: text });
    }
  }

  private finish(op: Operation): void {
    this.ops[op.id] = op;
    this.counts[op.outcome]++;
  }
}
