import { describe, expect, it } from "vitest";
import { nodeId, partitionId } from "../../src/node/ids.js";
import type { Entry, HardState, Ready } from "../../src/node/raft/types.js";
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
