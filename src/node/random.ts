/**
 * Seeded randomness: the Raft core takes its random source injected, so that the simulator can
 * replay a run from its seed and a node can derive independent streams for its groups. Nothing
 * here reads Math.random or the clock.
 *
 * Generator: xoshiro128** (Blackman and Vigna, 2018), four 32-bit words of state, period
 * 2^128 - 1, seeded through splitmix32 so that neighbouring seeds (1, 2, 3...) start from
 * unrelated states. Chosen over mulberry32 because one seed draws a few hundred thousand
 * numbers from several streams, and 32-bit arithmetic (Math.imul, >>>) keeps it fast in V8.
 */

const TWO_POW_32 = 4294967296;

function splitmix32(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return { state: next, value: z >>> 0 };
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `stream` separates independent sequences drawn from one seed (say, one per Raft group). */
  constructor(seed: number, stream = 0) {
    // Fold the high bits of large seeds in, then mix the stream number with a different odd constant.
    let state = ((seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) | 0, 0x27d4eb2d)) | 0;
    state = (state ^ Math.imul(stream + 1, 0x165667b1)) | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const step = splitmix32(state);
      state = step.state;
      words.push(step.value);
    }
    const [a = 1, b = 0, c = 0, d = 0] = words;
    // xoshiro must not start from all zeros; splitmix32 makes that practically impossible, but be sure.
    this.a = a | b | c | d ? a : 1;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / TWO_POW_32;
  }

  /** An integer in [0, n). The bias of scaling 32 bits is far below anything the simulator could notice. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  /** Fisher-Yates on a copy. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }
}
