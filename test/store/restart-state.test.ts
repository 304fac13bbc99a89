import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeId, partitionId } from "../../src/node/ids.js";
import type { Entry, SnapshotMeta } from "../../src/node/raft/types.js";
import { StateMachine } from "../../src/node/storage/state-machine.js";
import { StoreOpenError } from "../../src/node/store/errors.js";
import { planRestart } from "../../src/node/store/restart-state.js";
import { type Cluster, type Member, put, startCluster, until } from "./harness.js";

const p = partitionId(3);
const config = { voters: [1, 2, 3].map(nodeId), learners: [] };
const entry = (index: number, term: number): Entry => ({
  type: "normal",
  index,
  term,
  data: new Uint8Array(0),
});
const entries = (from: number, to: number, term: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const meta = (index: number, term: number): SnapshotMeta => ({ index, term, config });

describe("planRestart", () => {
  it("starts a new group at index 0 with the initial configuration", () => {
    const plan = planRestart(
      p,
      { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] },
      0,
      undefined,
      config,
    );
    expect(plan.repair).toBeUndefined();
    expect(plan.state).toMatchObject({ snapshot: { meta: meta(0, 0) }, entries: [], applied: 0 });
  });

  it("starts after the log's compaction meta, at the state machine's applied index", () => {
    const stored = {
      hardState: { term: 2, vote: nodeId(1), commit: 30 },
      snapshot: meta(20, 2),
      entries: entries(21, 30, 2),
    };
    const plan = planRestart(p, stored, 25, undefined, config);
    expect(plan.repair).toBeUndefined();
    expect(plan.state).toEqual({
      hardState: stored.hardState,
      snapshot: { meta: meta(20, 2), data: new Uint8Array(0) },
      entries: stored.entries,
      applied: 25,
    });
    // An install the log recorded already is not repeated.
    expect(planRestart(p, stored, 20, meta(20, 2), config).repair).toBeUndefined();
  });

  it("raises a stored commit index that lags the applied one (commit-only changes are not written)", () => {
    const stored = {
      hardState: { term: 2, vote: nodeId(1), commit: 22 },
      snapshot: meta(20, 2),
      entries: entries(21, 30, 2),
    };
    const plan = planRestart(p, stored, 27, undefined, config);
    expect(plan.state.hardState).toEqual({ term: 2, vote: nodeId(1), commit: 27 });
    expect(plan.state.applied).toBe(27);
  });

  it("completes an install whose record a crash lost: the log then starts at the snapshot", () => {
    const stored = {
      hardState: { term: 3, vote: nodeId(2), commit: 12 },
      snapshot: meta(10, 1),
      entries: entries(11, 14, 1),
    };
    const installed = meta(40, 3);
    const plan = planRestart(p, stored, 40, installed, config);
    const hardState = { term: 3, vote: nodeId(2), commit: 40 };
    expect(plan.repair).toEqual({ group: p, snapshot: installed, entries: [], hardState });
    expect(plan.state).toMatchObject({ hardState, snapshot: { meta: installed }, entries: [], applied: 40 });
    // The entries after the snapshot stay when the log holds the snapshot's own entry.
    const longer = { ...stored, entries: entries(11, 45, 3) };
    expect(planRestart(p, longer, 40, installed, config).state.entries).toEqual(entries(41, 45, 3));
  });

  it("refuses a state machine behind the log's start (a wiped install)", () => {
    const stored = {
      hardState: { term: 2, vote: nodeId(1), commit: 30 },
      snapshot: meta(20, 2),
      entries: entries(21, 30, 2),
    };
    expect(() => planRestart(p, stored, 0, undefined, config)).toThrow(StoreOpenError);
    expect(() => planRestart(p, stored, 0, undefined, config)).toThrow(
      /partition 3: its state machine is at index 0/,
    );
  });
});

describe("a store restarting after a crash between a snapshot install and its Raft log record", () => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.destroy();
  });

  it("starts from the installed snapshot, writes its meta to the log, and catches up", async () => {
    const started = await startCluster();
    cluster = started.cluster;
    const leader = cluster.store(p);
    const leaderId = leader.store.leaderOf(p);
    const followerId = [...cluster.members.keys()].find((id) => id !== leaderId) ?? nodeId(0);
    const dir = started.dirs.get(followerId) as string;
    await cluster.stop(followerId);
    for (let i = 0; i < 40; i++) await cluster.propose(p, put(`k${i}`, `v${i}`));
    // What the crash left: the follower's state machine holds the leader's state at A, with the
    // snapshot's meta; its Raft log knows nothing of it.
    const image = await leader.sm.snapshot(p);
    const installed = image.appliedIndex;
    const log = leader.engine.load(p);
    const term = log.entries.find((e) => e.index === installed)?.term ?? log.snapshot?.term ?? 0;
    const raftMeta = { index: installed, term, config: log.snapshot?.config ?? config };
    const sm = await StateMachine.open(join(dir, "kv"));
    await sm.installSnapshot(p, image.appliedIndex, image.chunks(), raftMeta);
    await sm.close();

    const follower = await cluster.start(followerId, dir);
    expect(follower.engine.load(p).snapshot).toEqual(raftMeta);
    expect(follower.store.groupStatus(p)).toMatchObject({
      appliedIndex: installed,
      commitIndex: installed,
      firstIndex: installed + 1,
    });
    await cluster.propose(p, put("after", "crash"));
    const applied = (m: Member) => m.store.groupStatus(p)?.appliedIndex;
    await until(() => applied(follower) === applied(cluster.store(p)), 10_000, "the follower to catch up");
    expect(new TextDecoder().decode(await follower.sm.get(p, new TextEncoder().encode("after")))).toBe(
      "crash",
    );
  });
});
