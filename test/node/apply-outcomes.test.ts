import { describe, expect, it } from "vitest";
import { partitionId } from "../../src/node/ids.js";
import { ApplyOutcomes } from "../../src/node/service/apply-outcomes.js";
import { type Command, encodeCommand } from "../../src/node/storage/commands.js";
import { cleanUpAfterEach, del, openSm, put, rid, tempDir } from "../storage/state-machine-harness.js";

cleanUpAfterEach();
const P = partitionId(0);

/** Applies the commands as one batch after the partition's applied index; their indexes. */
async function apply(outcomes: ApplyOutcomes, first: number, commands: Command[]): Promise<number[]> {
  const entries = commands.map((c, i) => ({ index: first + i, data: encodeCommand(c) }));
  await outcomes.applyBatch([{ partition: P, entries }]);
  return entries.map((e) => e.index);
}

describe("ApplyOutcomes", () => {
  it("says whether each deleted key existed, in log order within a batch, and remembers no put", async () => {
    const sm = await openSm(await tempDir());
    const outcomes = new ApplyOutcomes(sm);
    const [p1] = await apply(outcomes, 1, [put("a", "1")]);
    const [d1, d2, p2, d3] = await apply(outcomes, 2, [del("a"), del("a"), put("b", "2"), del("b")]);
    expect(outcomes.outcomeOf(P, p1 as number)).toBeUndefined();
    expect(outcomes.outcomeOf(P, p2 as number)).toBeUndefined();
    expect(outcomes.outcomeOf(P, d1 as number)).toEqual({ kind: "delete", existed: true });
    expect(outcomes.outcomeOf(P, d2 as number)).toEqual({ kind: "delete", existed: false });
    expect(outcomes.outcomeOf(P, d3 as number)).toEqual({ kind: "delete", existed: true });
    await sm.close();
  });

  it("answers a retried delete with its first application and what it found", async () => {
    const sm = await openSm(await tempDir());
    const outcomes = new ApplyOutcomes(sm);
    await apply(outcomes, 1, [put("k", "v")]);
    const [first] = await apply(outcomes, 2, [del("k", rid(5))]);
    const [retry] = await apply(outcomes, 3, [del("k", rid(5))]);
    expect(outcomes.outcomeOf(P, retry as number)).toEqual({
      kind: "duplicate",
      appliedAt: first,
      existed: true,
    });
    await sm.close();
  });
});
