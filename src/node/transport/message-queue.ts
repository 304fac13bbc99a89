/**
 * The outbound queue of one peer link: a FIFO bounded by a message count and by an estimate of
 * the bytes it holds, so that a peer that is down cannot grow the node's memory. When a bound is
 * exceeded the OLDEST messages go (Raft retransmits what matters, and the newest messages carry
 * the newest terms and commit indexes).
 */

import type { Message } from "../raft/types.js";
import type { GroupMessage } from "./raft-fields.js";

/** Fixed cost counted for every message (envelope, group id, protobuf framing). */
const MESSAGE_OVERHEAD = 64;
/** Fixed cost counted for every entry of an append, on top of its data. */
const ENTRY_OVERHEAD = 32;

/** Roughly how many bytes a message takes on the wire: exact enough to bound a queue. */
export function estimateSize(message: Message): number {
  if (message.type !== "append") return MESSAGE_OVERHEAD;
  let size = MESSAGE_OVERHEAD;
  for (const entry of message.entries) {
    size += ENTRY_OVERHEAD + (entry.type === "normal" ? entry.data.length : 16);
  }
  return size;
}

export class MessageQueue {
  private items: GroupMessage[] = [];
  /** Index of the oldest message still queued (dropping from the front does not shift). */
  private head = 0;
  private queuedBytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Appends the messages in order; returns how many of the oldest were dropped to make room. */
  push(messages: readonly GroupMessage[]): number {
    for (const m of messages) {
      this.items.push(m);
      this.queuedBytes += estimateSize(m.message);
    }
    let dropped = 0;
    while (this.length > 0 && (this.length > this.maxMessages || this.queuedBytes > this.maxBytes)) {
      this.queuedBytes -= estimateSize(this.items[this.head].message);
      this.head++;
      dropped++;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  /** Removes and returns every queued message, oldest first. */
  take(): GroupMessage[] {
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    return out;
  }

  clear(): void {
    this.take();
  }
}
