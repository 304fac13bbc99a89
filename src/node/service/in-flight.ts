/**
 * Client requests in progress, for a graceful shutdown: once draining, new requests are refused
 * with Unavailable (the client retries at another node) while those in progress run to the end;
 * `drained` resolves when none is left.
 */

import { Code, ConnectError } from "@connectrpc/connect";

export class InFlight {
  private count = 0;
  private draining = false;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly self: number) {}

  /** Runs `task` as one request, or refuses it when the node is shutting down. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.draining) {
      throw new ConnectError(`node ${this.self} is shutting down; retry at another node`, Code.Unavailable);
    }
    this.count++;
    try {
      return await task();
    } finally {
      this.count--;
      if (this.count === 0 && this.draining) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  get size(): number {
    return this.count;
  }

  /** Refuses new requests from now on; resolves once the ones in progress are done. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
