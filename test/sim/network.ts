/**
 * The simulated network. Every message becomes a delivery at a future time; per message the
 * seeded random decides whether it is dropped, how late it arrives (so messages overtake each
 * other) and whether it is duplicated. Partitions are decided at delivery time: a message in
 * flight when a link goes down is lost, as with a real cable pulled.
 *
 * Messages are shared, never copied or changed: the core must treat what it sends and
 * receives as immutable, and a duplicate is the very same object delivered twice.
 */
import type { Message, NodeId } from "../../src/node/raft/types.js";
import type { Random } from "./random.js";

/** How hostile the network is; all zero but the base latency in calm periods. */
export interface Weather {
  readonly drop: number;
  readonly duplicate: number;
  /** Chance that a message is held back by up to `maxDelay` extra time units. */
  readonly delay: number;
  readonly maxDelay: number;
}

export const CALM: Weather = { drop: 0, duplicate: 0, delay: 0, maxDelay: 0 };

/** Normal one-way latency in time units (a tick is 10): well under a heartbeat interval. */
const MIN_LATENCY = 1;
const MAX_LATENCY = 4;
/** Deliveries are kept in a ring of per-time-unit slots; no message may be later than this. */
const HORIZON = 128;

export class Network {
  weather: Weather = CALM;
  /** Partition group of each member; members in different groups cannot talk. Absent = group 0. */
  private groups = new Map<NodeId, number>();
  /** One-way cuts, as `from * 64 + to`. */
  private cuts = new Set<number>();
  private readonly slots: Message[][] = Array.from({ length: HORIZON }, () => []);

  constructor(private readonly random: Random) {}

  /** Queues a message sent at `now`; returns false when the network dropped it at once. */
  send(now: number, message: Message): boolean {
    const w = this.weather;
    if (w.drop > 0 && this.random.chance(w.drop)) return false;
    this.schedule(now, message);
    if (w.duplicate > 0 && this.random.chance(w.duplicate)) this.schedule(now, message);
    return true;
  }

  private schedule(now: number, message: Message): void {
    const w = this.weather;
    let latency = this.random.between(MIN_LATENCY, MAX_LATENCY);
    if (w.delay > 0 && this.random.chance(w.delay)) latency += this.random.between(0, w.maxDelay);
    const at = now + Math.min(latency, HORIZON - 1);
    (this.slots[at % HORIZON] as Message[]).push(message);
  }

  /** Messages due at `now`, in the order they were queued; the slot is emptied. */
  takeDue(now: number): Message[] {
    const slot = now % HORIZON;
    const due = this.slots[slot] as Message[];
    if (due.length === 0) return due;
    this.slots[slot] = [];
    return due;
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return (this.groups.get(from) ?? 0) === (this.groups.get(to) ?? 0) && !this.cuts.has(from * 64 + to);
  }

  /** Splits the members into groups (each inner list one side); the rest stay in group 0. */
  partition(sides: readonly (readonly NodeId[])[]): void {
    this.groups = new Map();
    sides.forEach((side, k) => {
      for (const id of side) this.groups.set(id, k + 1);
    });
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(from * 64 + to);
  }

  heal(): void {
    this.groups = new Map();
    this.cuts = new Set();
  }

  get partitioned(): boolean {
    return this.groups.size > 0 || this.cuts.size > 0;
  }
}
