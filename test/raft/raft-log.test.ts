import { describe, expect, it } from "vitest";
import { RaftInvariantError, RaftLog } from "../../src/node/raft/raft-log.js";
import type { Entry } from "../../src/node/raft/types.js";
import { ids } from "./harness.js";

const e = (index: number, term: number): Entry => ({ type: "normal", index, term, data: new Uint8Array(0) });
const config = { voters: ids(1, 2, 3), learners: [] };
const snapshot = { meta: { index: 0, term: 0, config }, data: new Uint8Array(0) };
const logWith = (...terms: number[]) =>
  new RaftLog(
    snapshot,
    terms.map((t, i) => e(i + 1, t)),
    0,
    0,
  );

describe("RaftLog", () => {
  it("appends only after a matching (prevIndex, prevTerm) and truncates a conflicting suffix", () => {
    const log = logWith(1, 1, 2, 2);
    expect(log.maybeAppend(3, 3, 0, [e(4, 3)])).toBeUndefined();
    expect(log.maybeAppend(2, 1, 0, [e(3, 3), e(4, 3), e(5, 3)])).toBe(5);
    expect([1, 2, 3, 4, 5].map((i) => log.term(i))).toEqual([1, 1, 3, 3, 3]);
    // An old, shorter append never truncates entries that already match.
    expect(log.maybeAppend(2, 1, 0, [e(3, 3)])).toBe(3);
    expect(log.lastIndex()).toBe(5);
  });

  it("refuses to overwrite a committed entry: that would be a safety bug upstream", () => {
    const log = logWith(1, 1);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 2, [e(2, 2)])).toThrow(RaftInvariantError);
  });

  it("finds the conflict hint by term (fast backtracking)", () => {
    const log = logWith(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
    expect(log.findConflictByTerm(10, 3)).toEqual({ index: 3, term: 1 });
    expect(log.findConflictByTerm(10, 6)).toEqual({ index: 10, term: 6 });
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 5, term: 4 });
    expect(log.findConflictByTerm(2, 0)).toEqual({ index: 0, term: 0 });
  });

  it("hands out unstable entries once and keeps rewrites made during persistence unstable", () => {
    const log = logWith();
    log.append(e(1, 1));
    log.append(e(2, 1));
    const persisting = log.unstableEntries();
    expect(persisting.map((x) => x.index)).toEqual([1, 2]);
    log.markReadyTaken();
    // While the host writes 1..2, a new leader overwrites index 2.
    log.maybeAppend(1, 1, 0, [e(2, 2)]);
    log.stableTo(2, undefined);
    expect(log.unstableEntries()).toEqual([e(2, 2)]);
    expect(log.stableIndex()).toBe(1);
  });

  it("compacts only what is applied and durable, keeping term and configuration of the cut", () => {
    const log = logWith(1, 1, 2);
    log.stableTo(3, undefined);
    log.commitTo(3);
    expect(() => log.compact(2, new Uint8Array(0))).toThrow(RaftInvariantError);
    log.nextCommitted(10);
    log.appliedTo(3);
    log.compact(2, new Uint8Array([7]));
    expect(log.firstIndex()).toBe(3);
    expect(log.term(2)).toBe(1);
    expect(log.term(1)).toBeUndefined();
    expect(log.snapshot.meta).toEqual({ index: 2, term: 1, config });
  });

  it("rejects a stored log that cannot be right", () => {
    expect(() => new RaftLog(snapshot, [e(2, 1)], 0, 0)).toThrow(/not contiguous/);
    expect(() => new RaftLog(snapshot, [e(1, 1)], 5, 0)).toThrow(/beyond the stored log/);
  });
});
