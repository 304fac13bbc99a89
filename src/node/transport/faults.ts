/**
 * Fault injection rules (admin.proto's FaultRule): drop or delay this node's Raft traffic with
 * chosen peers, in one direction or both. When several rules match, drop wins, then the longest
 * delay. Client traffic never passes through here.
 */

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { FaultDirection, type FaultRule, FaultRuleSchema } from "../../gen/tinyo/v1/admin_pb.js";
import type { NodeId } from "../ids.js";

export type { FaultRule };
export type FaultRuleInit = MessageInitShape<typeof FaultRuleSchema>;

/** Which way a message travels, seen from this node. */
export type Direction = "in" | "out";

/** What the rules say about one message: drop it, or hold it for `delayMs` (0 = pass). */
export interface FaultVerdict {
  readonly drop: boolean;
  readonly delayMs: number;
}

/** The longest delay a rule may ask for. */
export const MAX_FAULT_DELAY_MS = 60_000;

const PASS: FaultVerdict = { drop: false, delayMs: 0 };

export class FaultRules {
  private rules: readonly FaultRule[] = [];

  /** Replaces the rules; throws RangeError (and keeps the old rules) when one is invalid. */
  set(rules: readonly FaultRuleInit[]): void {
    const next = rules.map((init, i) => {
      const rule = create(FaultRuleSchema, init);
      if (!Number.isInteger(rule.peer) || rule.peer < 0) {
        throw new RangeError(`fault rule ${i}: peer must be a node id, or 0 for every peer`);
      }
      if (!(rule.direction in FaultDirection)) {
        throw new RangeError(`fault rule ${i}: unknown direction ${rule.direction}`);
      }
      if (!Number.isInteger(rule.delayMs) || rule.delayMs < 0 || rule.delayMs > MAX_FAULT_DELAY_MS) {
        throw new RangeError(`fault rule ${i}: delay_ms must be an integer from 0 to ${MAX_FAULT_DELAY_MS}`);
      }
      return rule;
    });
    this.rules = next;
  }

  clear(): void {
    this.rules = [];
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  verdict(peer: NodeId, direction: Direction): FaultVerdict {
    if (this.rules.length === 0) return PASS;
    let drop = false;
    let delayMs = 0;
    for (const rule of this.rules) {
      if (rule.peer !== 0 && rule.peer !== peer) continue;
      if (!directionMatches(rule.direction, direction)) continue;
      drop ||= rule.drop;
      delayMs = Math.max(delayMs, rule.delayMs);
    }
    return drop || delayMs > 0 ? { drop, delayMs: drop ? 0 : delayMs } : PASS;
  }
}

function directionMatches(rule: FaultDirection, direction: Direction): boolean {
  switch (rule) {
    case FaultDirection.IN:
      return direction === "in";
    case FaultDirection.OUT:
      return direction === "out";
    default:
      return true; // BOTH, and UNSPECIFIED which means BOTH
  }
}
