import { describe, expect, it } from "vitest";
import { nodeId, partitionId } from "../../src/node/ids.js";
import type { Entry, HardState, Ready } from "../../src/node/raft/types.js";
import { ProposalDroppedError } from "../../src/node/store/errors.js";
import { Group } from "../../src/node/store/group.js";
import { Network } from "../raft/harness.js";

const readyWith = (hardState: HardState | undefined, entries: Entry[] = []): Ready => ({
  softState: { role: "follower", leader: 0 },
  hardState,
  entries,
  snapshot: undefined,
  messages: [],
  committedEntries: [],
  readStates: [],
});
const entry: Entry = { type: "normal", index: 3, term: 2, data: new Uint8Array(0) };

describe("Group.hardStateToWrite", () => {
  it("writes term and vote changes, and commit indexes only along with entries", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    const raft = net.get(2);
    const group = new Group(partitionId(0), raft);
    const { term, vote } = raft;
    expect(group.hardStateToWrite(readyWith(undefined))).toBeUndefined();
    expect(group.hardStateToWrite(readyWith({ term, vote, commit: 7 }))).toBeUndefined();
    expect(group.hardStateToWrite(readyWith({ term, vote, commit: 8 }, [entry]))).toEqual({
      term,
      vote,
      commit: 8,
    });
    const next = { term: term + 1, vote: nodeId(3), commit: 8 };
    expect(group.hardStateToWrite(readyWith(next))).toEqual(next);
    expect(group.hardStateToWrite(readyWith({ ...next, commit: 9 }))).toBeUndefined();
    const voted = { term: term + 2, vote: 0 as const, commit: 9 };
    expect(group.hardStateToWrite(readyWith(voted))).toEqual(voted);
  });
});

describe("Group proposals", () => {
  const setup = () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    return new Group(partitionId(0), net.get(1));
  };
  const settled = async (p: Promise<unknown>) => {
    let state = "pending";
    p.then(
      () => (state = "resolved"),
      () => (state = "rejected"),
    );
    await new Promise((resolve) => setImmediate(resolve));
    return state;
  };

  it("answers a proposal at commit or at apply, as it asked", async () => {
    const group = setup();
    const atCommit = group.propose(new Uint8Array([1]), "commit");
    const atApply = group.propose(new Uint8Array([2]), "apply");
    const term = group.raft.term;
    const last = group.raft.lastIndex;
    const entries: Entry[] = [last - 1, last].map((index) => ({
      type: "normal",
      index,
      term,
      data: new Uint8Array(0),
    }));

    group.onCommitted(entries);
    expect(await atCommit).toEqual({ index: last - 1, term });
    expect(await settled(atApply)).toBe("pending");

    group.onApplied(entries);
    expect(await atApply).toEqual({ index: last, term });
  });

  it("fails a proposal whose index committed with another term: a new leader replaced it", async () => {
    const group = setup();
    const proposal = group.propose(new Uint8Array([1]), "commit");
    const index = group.raft.lastIndex;
    group.onCommitted([{ type: "normal", index, term: group.raft.term + 1, data: new Uint8Array(0) }]);
    await expect(proposal).rejects.toThrow(ProposalDroppedError);
  });
});
