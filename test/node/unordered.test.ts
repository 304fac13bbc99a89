/**
 * answerUnordered, the engine of the Batch stream: answers in completion order, at most
 * maxInFlight requests started and not yet answered (reading stops at the bound), a clean end
 * once the requests end and every answer is out, stream-level failures, and an early stop.
 */

import { describe, expect, it } from "vitest";
import { answerUnordered } from "../../src/node/service/unordered.js";

/** A promise and its resolver. */
function deferred<T = void>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A source of `count` numbers that counts how many were read. */
function counted(count: number) {
  const state = { read: 0, returned: false };
  async function* source() {
    try {
      for (let i = 0; i < count; i++) {
        state.read++;
        yield i;
      }
    } finally {
      state.returned = true;
    }
  }
  return { state, source: source() };
}

describe("answerUnordered", () => {
  it("yields answers in completion order and ends after the last", async () => {
    const gates = [deferred(), deferred(), deferred()];
    const out = answerUnordered(
      counted(3).source,
      async (i) => {
        await gates[i]?.promise;
        return i;
      },
      10,
    );
    const seen: number[] = [];
    const reading = (async () => {
      for await (const n of out) seen.push(n);
    })();
    gates[2]?.resolve();
    await tick();
    gates[0]?.resolve();
    await tick();
    gates[1]?.resolve();
    await reading;
    expect(seen).toEqual([2, 0, 1]);
  });

  it("stops reading at maxInFlight until answers are taken", async () => {
    const { state, source } = counted(100);
    const gate = deferred();
    let started = 0;
    const out = answerUnordered(
      source,
      async (i) => {
        started++;
        await gate.promise;
        return i;
      },
      8,
    );
    const first = out.next();
    for (let i = 0; i < 20; i++) await tick();
    expect(state.read).toBe(8);
    expect(started).toBe(8);
    gate.resolve();
    const seen = [(await first).value as number];
    for await (const n of out) seen.push(n);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
  });

  it("counts an answer in flight until the consumer takes it", async () => {
    const { state, source } = counted(100);
    const out = answerUnordered(source, async (i) => i, 4);
    await out.next(); // the consumer takes one answer, then stops reading
    for (let i = 0; i < 20; i++) await tick();
    expect(state.read).toBe(4); // the answer taken still counts until the next one is asked for
    await out.return();
  });

  it("ends at once for an empty stream", async () => {
    const seen: number[] = [];
    for await (const n of answerUnordered(counted(0).source, async (i) => i, 4)) seen.push(n);
    expect(seen).toEqual([]);
  });

  it("ends with the error when reading the requests fails", async () => {
    async function* failing() {
      yield 1;
      throw new Error("the stream broke");
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of answerUnordered(failing(), async (i) => i, 4)) seen.push(n);
      })(),
    ).rejects.toThrow("the stream broke");
  });

  it("ends with the error when an answer fails", async () => {
    const out = answerUnordered(
      counted(3).source,
      async (i) => {
        if (i === 1) throw new Error("no answer");
        return i;
      },
      4,
    );
    await expect(
      (async () => {
        for await (const _ of out) {
          // drain
        }
      })(),
    ).rejects.toThrow("no answer");
  });

  it("stops reading the requests when the consumer stops", async () => {
    const { state, source } = counted(1000);
    const out = answerUnordered(source, async (i) => i, 4);
    await out.next();
    await out.return();
    for (let i = 0; i < 10; i++) await tick();
    expect(state.returned).toBe(true);
    expect(state.read).toBeLessThan(10);
  });

  it("refuses a bound below 1", async () => {
    await expect(answerUnordered(counted(1).source, async (i) => i, 0).next()).rejects.toThrow(RangeError);
  });
});
