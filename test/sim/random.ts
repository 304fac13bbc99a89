import type { RandomSource } from "../../src/node/raft/types.js";
import { Random } from "../../src/node/random.js";

export { Random };

/**
 * The core's own randomness for one incarnation of one member: derived from (seed, member,
 * incarnation) so that a member's election timeouts do not depend on how many numbers the
 * simulator or the other members drew, and a restarted member does not replay its old timeouts.
 */
export function memberRandomSource(seed: number, member: number, incarnation: number): RandomSource {
  const random = new Random(seed, 1 + member * 1000 + incarnation);
  return (n) => random.int(n);
}
