/**
 * Holds outbound messages for a delay fault, then releases them in the order they were sent.
 * Release times never go backwards: a message sent with a shorter delay (or none, once the fault
 * is cleared) waits behind the ones sent before it, so a peer link never reorders. One timer per
 * line, for the oldest held group.
 */

import type { GroupMessage } from "./raft-fields.js";

interface Held {
  readonly releaseAt: number;
  messages: readonly GroupMessage[];
}

export class DelayLine {
  private readonly held: Held[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param release receives each held group when its time comes, oldest first.
   * @param maxMessages the most messages held; beyond it the oldest are dropped.
   */
  constructor(
    private readonly release: (messages: readonly GroupMessage[]) => void,
    private readonly maxMessages: number,
  ) {}

  /** Messages held now. */
  get length(): number {
    return this.count;
  }

  /** Holds the messages for at least `delayMs`; returns how many of the oldest held were dropped. */
  hold(messages: readonly GroupMessage[], delayMs: number, now = Date.now()): number {
    const last = this.held.at(-1);
    const releaseAt = Math.max(now + delayMs, last?.releaseAt ?? 0);
    this.held.push({ releaseAt, messages: messages.slice() });
    this.count += messages.length;
    const dropped = this.dropOldest();
    this.arm(now);
    return dropped;
  }

  /** Drops everything held and stops the timer. */
  clear(): void {
    this.held.length = 0;
    this.count = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private dropOldest(): number {
    let dropped = 0;
    while (this.count > this.maxMessages) {
      const first = this.held[0];
      const excess = this.count - this.maxMessages;
      if (first.messages.length <= excess) {
        this.held.shift();
        this.count -= first.messages.length;
        dropped += first.messages.length;
      } else {
        first.messages = first.messages.slice(excess);
        this.count -= excess;
        dropped += excess;
      }
    }
    return dropped;
  }

  private arm(now: number): void {
    if (this.timer !== undefined || this.held.length === 0) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.held[0].releaseAt - now));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.held.length > 0 && this.held[0].releaseAt <= now) {
      const first = this.held.shift() as Held;
      this.count -= first.messages.length;
      this.release(first.messages);
    }
    this.arm(now);
  }
}
