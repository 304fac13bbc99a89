/**
 * The base of the property tests' generators: the project's seeded Random (src/node/random.ts),
 * so that a failing case reproduces from its seed, plus the draws every generator needs.
 */
import { Random } from "../src/node/random.js";

export class SeededGen extends Random {
  bool(): boolean {
    return this.chance(0.5);
  }

  /** 0 to `max` random bytes. */
  bytes(max: number): Uint8Array {
    const out = new Uint8Array(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
}
