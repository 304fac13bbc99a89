/**
 * Records the history of a chaos run: every operation, with its invocation and completion read
 * from one monotonic clock (performance.now, shared by all clients, which run in this process),
 * its result, or its failure classified as definite or indeterminate (classify.ts). Nothing is
 * dropped: a failure is recorded with its error.
 */

import { classifyFailure } from "./classify.js";
import type { Operation } from "./history.js";

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
    const id = this.ops.length;
    const invokedAt = this.now();
    // Reserve the slot at invocation, so that the history is in invocation order.
    this.ops.push({
      id,
      client,
      key,
      kind: "put",
      value,
      invokedAt,
      completedAt: invokedAt,
      outcome: "indeterminate",
    });
    try {
      await send();
      this.finish({ id, client, key, kind: "put", value, invokedAt, completedAt: this.now(), outcome: "ok" });
    } catch (error) {
      const { outcome, error: text } = classifyFailure("put", error);
      this.finish({
        id,
        client,
        key,
        kind: "put",
        value,
        invokedAt,
        completedAt: this.now(),
        outcome,
        error: text,
      });
    }
  }

  /** Records a get; returns what it read (undefined when it failed). */
  async get(
    client: number,
    key: string,
    send: () => Promise<string | null>,
  ): Promise<string | null | undefined> {
    const id = this.ops.length;
    const invokedAt = this.now();
    this.ops.push({
      id,
      client,
      key,
      kind: "get",
      value: null,
      invokedAt,
      completedAt: invokedAt,
      outcome: "indeterminate",
    });
    try {
      const value = await send();
      this.finish({ id, client, key, kind: "get", value, invokedAt, completedAt: this.now(), outcome: "ok" });
      return value;
    } catch (error) {
      const { outcome, error: text } = classifyFailure("get", error);
      this.finish({
        id,
        client,
        key,
        kind: "get",
        value: null,
        invokedAt,
        completedAt: this.now(),
        outcome,
        error: text,
      });
      return undefined;
    }
  }

  private finish(op: Operation): void {
    this.ops[op.id] = op;
    this.counts[op.outcome]++;
  }
}
