/**
 * The cluster's member list as this node applies it. The list lives in the metadata Raft group
 * (member-records.ts); every member holds a replica of that group (a voter among the first five
 * ids, a learner otherwise: replica-targets.ts), so every node reads the list from its own state
 * machine. When the applied list changes, the node computes the new placement and hands it, with
 * the new addresses, to `onChange` (the transport learns the addresses, the store's replica mover
 * moves replicas toward the placement).
 *
 * A new cluster's metadata group starts empty: its first leader writes the founding members.
 * Adding and removing members happen at the metadata leader (`add`, `remove`), one proposal each.
 */
import type { NodeId } from "../ids.js";
import { buildPlacement, type Placement } from "../ring/index.js";
import { metadataPartition } from "../store/replica-targets.js";
import type { Store } from "../store/store.js";
import {
  deleteMember,
  type MemberList,
  type MemberSource,
  markFounded,
  putMember,
  readMembers,
  sameMembers,
} from "./member-records.js";

/**
 * A membership request that cannot be done: `invalid` input, a `precondition` the cluster does not
 * meet, or `starting` (the member list is not written yet: retry).
 */
export class MembershipError extends Error {
  override name = "MembershipError";
  constructor(
    readonly kind: "invalid" | "precondition" | "starting",
    message: string,
  ) {
    super(message);
  }
}

export interface PlacementSettings {
  readonly partitions: number;
  readonly vnodes: number;
  readonly replication: number;
}

export interface MembershipOptions {
  readonly self: NodeId;
  readonly settings: PlacementSettings;
  readonly store: Pick<Store, "propose" | "leaderOf">;
  readonly source: MemberSource & { appliedIndex(p: number): number | Promise<number> };
  /** The member list to start with (stored, answered by Join, or the founding members). */
  readonly initial: MemberList;
  /** A new cluster's founding members, written by the metadata group's first leader. */
  readonly founding?: MemberList;
  readonly onChange: (members: MemberList, placement: Placement) => void;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
  /** How often to look for a new applied member list (default 100 ms). */
  readonly pollMs?: number;
}

const describe = (members: MemberList) => [...members.keys()].join(", ");

export class Membership {
  private current: MemberList;
  private currentPlacement: Placement;
  private seenIndex = -1;
  private appliedVersion = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private seeding = false;
  readonly metadata;

  constructor(private readonly options: MembershipOptions) {
    this.metadata = metadataPartition(options.settings.partitions);
    this.current = options.initial;
    this.currentPlacement = this.build(options.initial);
  }

  get members(): MemberList {
    return this.current;
  }

  get placement(): Placement {
    return this.currentPlacement;
  }

  /** The metadata group's applied index at which the current list was read (0: not yet). */
  get version(): number {
    return this.appliedVersion;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs ?? 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Adds a member (this node must lead the metadata group); resolves with the new list. */
  async add(id: NodeId, address: string): Promise<MemberList> {
    await this.requireSeeded();
    const known = this.current.get(id);
    if (known === address) return this.current;
    if (known !== undefined) {
      throw new MembershipError(
        "precondition",
        `node ${id} is already a member, at ${known}: remove it first, or join with another id`,
      );
    }
    const sameAddress = [...this.current].find(([, a]) => a === address);
    if (sameAddress) {
      throw new MembershipError("precondition", `node ${sameAddress[0]} is already a member at ${address}`);
    }
    await this.options.store.propose(this.metadata, putMember(id, address));
    this.options.log("membership.added", { node: id, address });
    return this.refresh();
  }

  /** Removes a member (this node must lead the metadata group); resolves with the new list. */
  async remove(id: NodeId): Promise<MemberList> {
    await this.requireSeeded();
    if (!this.current.has(id)) {
      throw new MembershipError(
        "invalid",
        `node ${id} is not a member (the members are ${describe(this.current)})`,
      );
    }
    const { replication } = this.options.settings;
    if (this.current.size - 1 < replication) {
      throw new MembershipError(
        "precondition",
        `removing node ${id} would leave ${this.current.size - 1} nodes, fewer than the replication factor ` +
          `${replication}: add a node first`,
      );
    }
    await this.options.store.propose(this.metadata, deleteMember(id));
    this.options.log("membership.removed", { node: id });
    return this.refresh();
  }

  /** Reads the applied list now (after a proposal of ours was applied). */
  private async refresh(): Promise<MemberList> {
    this.seenIndex = -1;
    await this.poll();
    return this.current;
  }

  private async requireSeeded(): Promise<void> {
    const stored = await readMembers(this.options.source, this.metadata);
    if (stored.size === 0) {
      throw new MembershipError("starting", "the cluster is starting: its member list is not written yet");
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const applied = await this.options.source.appliedIndex(this.metadata);
      if (applied === this.seenIndex) return;
      this.seenIndex = applied;
      const stored = await readMembers(this.options.source, this.metadata);
      if (stored.size === 0) {
        this.seed();
        return;
      }
      this.appliedVersion = applied;
      if (sameMembers(stored, this.current)) return;
      this.current = stored;
      this.currentPlacement = this.build(stored);
      this.options.log("membership.changed", { members: Object.fromEntries(stored), version: applied });
      this.options.onChange(stored, this.currentPlacement);
    } catch (error) {
      this.options.log("membership.poll_failed", { error: (error as Error).message });
    } finally {
      this.polling = false;
    }
  }

  /**
   * A new cluster: its metadata leader writes the founding members, then `founded`. A leader
   * that takes over midway writes them all again (a put is idempotent).
   */
  private seed(): void {
    const { founding, store, self } = this.options;
    if (!founding || this.seeding || store.leaderOf(this.metadata) !== self) return;
    this.seeding = true;
    void (async () => {
      try {
        for (const [id, address] of founding) await store.propose(this.metadata, putMember(id, address));
        await store.propose(this.metadata, markFounded());
        this.options.log("membership.founded", { members: Object.fromEntries(founding) });
      } catch {
        // Leadership moved or the node is stopping: the next leader (or this one again) retries.
      } finally {
        this.seeding = false;
        this.seenIndex = -1;
      }
    })();
  }

  private build(members: MemberList): Placement {
    const { partitions, vnodes, replication } = this.options.settings;
    return buildPlacement({ members: [...members.keys()], partitions, vnodes, replication });
  }
}
