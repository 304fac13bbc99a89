/**
 * The event trace: a ring buffer of the last events, formatted only when someone reads it (a
 * violation, or --verbose), because a seed produces tens of thousands of events and building a
 * string for each would cost more than the simulation itself.
 */
import type { Entry, Message } from "../../src/node/raft/types.js";
import { payloadOf } from "./state-machine.js";

export type TraceEvent =
  | { readonly kind: "deliver"; readonly msg: Message }
  | { readonly kind: "drop"; readonly msg: Message; readonly why: string }
  | { readonly kind: "note"; readonly text: string };

export class Trace {
  private readonly times: number[];
  private readonly events: (TraceEvent | undefined)[];
  private next = 0;
  private count = 0;

  /** `sink` receives every line as it happens (--verbose); without it nothing is formatted eagerly. */
  constructor(
    private readonly capacity: number,
    private readonly sink?: (line: string) => void,
  ) {
    this.times = new Array<number>(capacity).fill(0);
    this.events = new Array<TraceEvent | undefined>(capacity).fill(undefined);
  }

  record(time: number, event: TraceEvent): void {
    this.times[this.next] = time;
    this.events[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    this.count++;
    if (this.sink) this.sink(formatLine(time, event));
  }

  note(time: number, text: string): void {
    this.record(time, { kind: "note", text });
  }

  /**
   * The last `limit` events, oldest first, one line each. Plain heartbeats (no read round) are
   * left out except among the last few events: a seed sends thousands and they rarely explain
   * anything, while the appends, votes and faults around them do.
   */
  lines(limit: number): string[] {
    const n = Math.min(this.count, this.capacity);
    const out: string[] = [];
    for (let k = n - 1; k >= 0 && out.length < limit; k--) {
      const slot = (this.next - n + k + this.capacity) % this.capacity;
      const event = this.events[slot];
      if (!event || (n - k > RECENT && isPlainHeartbeat(event))) continue;
      out.push(formatLine(this.times[slot] ?? 0, event));
    }
    return out.reverse();
  }
}

const RECENT = 10;

function isPlainHeartbeat(event: TraceEvent): boolean {
  if (event.kind === "note") return false;
  const m = event.msg;
  return (m.type === "heartbeat" || m.type === "heartbeatResp") && m.readSeq === 0;
}

function formatLine(time: number, event: TraceEvent): string {
  switch (event.kind) {
    case "deliver":
      return `t=${time} ${describeMessage(event.msg)}`;
    case "drop":
      return `t=${time} drop(${event.why}) ${describeMessage(event.msg)}`;
    case "note":
      return `t=${time} ${event.text}`;
  }
}

const MAX_ENTRIES_SHOWN = 4;

function describeEntries(entries: readonly Entry[]): string {
  const shown = entries.slice(0, MAX_ENTRIES_SHOWN).map(describeEntry);
  if (entries.length > MAX_ENTRIES_SHOWN) shown.push(`...+${entries.length - MAX_ENTRIES_SHOWN}`);
  return `[${shown.join(",")}]`;
}

/** `18@5` for a no-op, `18@5:w3-7` for a write, `18@5:+learner n4` for a conf change. */
export function describeEntry(entry: Entry): string {
  const at = `${entry.index}@${entry.term}`;
  if (entry.type === "normal") {
    const payload = payloadOf(entry);
    return payload === "" ? at : `${at}:${payload}`;
  }
  const what = { addLearner: "+learner", addVoter: "+voter", removeNode: "-node" }[entry.change.type];
  return `${at}:${what} n${entry.change.node}`;
}

export function describeMessage(m: Message): string {
  const head = `n${m.from}->n${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "preVote":
    case "vote":
      return `${head} last=(${m.lastLogIndex},${m.lastLogTerm})${m.transfer ? " transfer" : ""}`;
    case "preVoteResp":
    case "voteResp":
      return `${head} ${m.reject ? "reject" : "grant"}`;
    case "append":
      return `${head} prev=(${m.prevIndex},${m.prevTerm}) entries=${describeEntries(m.entries)} commit=${m.commit}`;
    case "appendResp":
      return m.reject
        ? `${head} reject index=${m.index} hint=(${m.hintIndex},${m.hintTerm})`
        : `${head} ok index=${m.index}`;
    case "heartbeat":
      return `${head} commit=${m.commit}${m.readSeq > 0 ? ` readSeq=${m.readSeq}` : ""}`;
    case "heartbeatResp":
      return m.readSeq > 0 ? `${head} readSeq=${m.readSeq}` : head;
    case "snapshot": {
      const meta = m.snapshot.meta;
      return `${head} at=(${meta.index},${meta.term}) voters=[${meta.config.voters}] learners=[${meta.config.learners}]`;
    }
    case "timeoutNow":
      return head;
    case "readIndex":
      return `${head} ctx=${m.context}`;
    case "readIndexResp":
      return `${head} ctx=${m.context} index=${m.index}`;
  }
}
