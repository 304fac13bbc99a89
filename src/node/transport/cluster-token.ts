/**
 * The cluster's shared secret, compared in constant time: both sides are hashed first, so the
 * comparison takes the same time whatever the candidate's length or contents.
 */

import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

export class ClusterToken {
  private readonly expected: Buffer;

  constructor(readonly value: string) {
    if (value.length === 0) throw new RangeError("the cluster token must not be empty");
    this.expected = digest(value);
  }

  /** Whether `candidate` is this token (a missing token, "", never is). */
  matches(candidate: string): boolean {
    return timingSafeEqual(this.expected, digest(candidate));
  }
}
