/**
 * A hand-driven network of Raft members for unit tests, in the manner of etcd-io/raft's
 * raft_test.go: messages are delivered synchronously until the network is quiet, links can be
 * cut, and each member keeps a "disk" so that it can be restarted from what it persisted.
 */
import { nodeId } from "../../src/node/ids.js";
import { RaftNode } from "../../src/node/raft/raft.js";
import type {
  Config,
  Entry,
  HardState,
  Message,
  NodeId,
  RaftOptions,
  ReadState,
  Snapshot,
} from "../../src/node/raft/types.js";

export const ids = (...ns: number[]): NodeId[] => ns.map(nodeId);

export const ELECTION = 10;
export const HEARTBEAT = 1;

/** A deterministic stand-in for randomness: the longest timeout (2 x ELECTION - 1) by default. */
export function fixedRandom(value = ELECTION - 1): (n: number) => number {
  return (n) => Math.min(value, n - 1);
}

export interface Disk {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export function freshDisk(config: Config): Disk {
  return {
    hardState: { term: 0, vote: 0, commit: 0 },
    snapshot: { meta: { index: 0, term: 0, config }, data: new Uint8Array(0) },
    entries: [],
  };
}

export function newMember(id: number, disk: Disk, options: Partial<RaftOptions> = {}): RaftNode {
  return new RaftNode(
    { id: nodeId(id), electionTicks: ELECTION, heartbeatTicks: HEARTBEAT, random: fixedRandom(), ...options },
    {
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: disk.entries,
      applied: disk.snapshot.meta.index,
    },
  );
}

export class Network {
  readonly members = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, Disk>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly reads = new Map<NodeId, ReadState[]>();
  /** Every message delivered, for assertions about what went over the wire. */
  readonly delivered: Message[] = [];
  private cut = new Set<string>();
  /** Messages held back instead of delivered, when a test wants to inspect or reorder them. */
  held: Message[] = [];
  hold: (m: Message) => boolean = () => false;

  constructor(voters: number[], options: Partial<RaftOptions> = {}, learners: number[] = []) {
    const config: Config = { voters: ids(...voters), learners: ids(...learners) };
    for (const id of [...voters, ...learners]) this.add(id, freshDisk(config), options);
  }

  add(id: number, disk: Disk, options: Partial<RaftOptions> = {}): RaftNode {
    const m = newMember(id, disk, options);
    this.members.set(m.id, m);
    this.disks.set(m.id, disk);
    this.applied.set(m.id, this.applied.get(m.id) ?? []);
    this.reads.set(m.id, []);
    return m;
  }

  get(id: number): RaftNode {
    const m = this.members.get(nodeId(id));
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  leader(): RaftNode | undefined {
    return [...this.members.values()].find((m) => m.role === "leader");
  }

  isolate(id: number): void {
    for (const other of this.members.keys()) {
      if (other !== id) this.cutLink(id, other);
    }
  }

  cutLink(a: number, b: number): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crash a member: it loses everything it did not persist. */
  crash(id: number): Disk {
    const disk = this.disks.get(nodeId(id)) as Disk;
    this.members.delete(nodeId(id));
    return disk;
  }

  restart(id: number, options: Partial<RaftOptions> = {}): RaftNode {
    const disk = this.disks.get(nodeId(id)) as Disk;
    this.applied.set(nodeId(id), []);
    return this.add(id, disk, options);
  }

  tick(id: number, times = 1): void {
    for (let i = 0; i < times; i++) this.get(id).tick();
    this.settle();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const m of this.members.values()) m.tick();
      this.settle();
    }
  }

  /**
   * Let `id` win an election: the others first go one election timeout without a leader (so
   * that leader stickiness no longer holds them), which is too short for them to campaign
   * with the default timeout of 2 x ELECTION - 1.
   */
  elect(id: number): void {
    for (const [other, m] of this.members) {
      if (other === id || m.role === "leader") continue;
      for (let i = 0; i < ELECTION; i++) m.tick();
    }
    this.settle();
    this.tick(id, 2 * ELECTION);
    if (this.get(id).role !== "leader") throw new Error(`member ${id} did not win the election`);
  }

  /** Drain every member's ready and deliver messages until nothing moves. */
  settle(limit = 10_000): void {
    for (let round = 0; round < limit; round++) {
      const inFlight: Message[] = [];
      for (const [id, m] of this.members) {
        while (m.hasReady()) inFlight.push(...this.process(id, m));
      }
      if (inFlight.length === 0) return;
      for (const msg of inFlight) this.deliver(msg);
    }
    throw new Error("network did not settle");
  }

  deliver(msg: Message): void {
    if (this.cut.has(`${msg.from}-${msg.to}`)) return;
    if (this.hold(msg)) {
      this.held.push(msg);
      return;
    }
    const to = this.members.get(msg.to);
    if (!to) return;
    this.delivered.push(msg);
    to.step(msg);
  }

  private process(id: NodeId, m: RaftNode): Message[] {
    const rd = m.ready();
    const disk = this.disks.get(id) as Disk;
    if (rd.snapshot) {
      disk.snapshot = rd.snapshot;
      disk.entries = [];
    }
    if (rd.entries.length > 0) {
      const first = (rd.entries[0] as Entry).index;
      disk.entries = disk.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) disk.hardState = rd.hardState;
    this.applied.get(id)?.push(...rd.committedEntries);
    this.reads.get(id)?.push(...rd.readStates);
    m.advance(rd);
    return [...rd.messages];
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (e: Entry): string =>
  e.type === "normal" ? new TextDecoder().decode(e.data) : `conf:${e.change.type}`;
