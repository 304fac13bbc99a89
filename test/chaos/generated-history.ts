/**
 * Linearizable histories made to order: concurrent clients whose operations each take effect at
 * a random instant between invocation and completion, results computed by applying them in that
 * order. Some are indeterminate (a put or del that took effect, or did not).
 */

import type { Operation } from "../../src/chaos/history.js";
import { Random } from "../../src/node/random.js";

export interface GeneratedOptions {
  readonly ops: number;
  readonly keys: number;
  readonly clients: number;
  readonly seed: number;
  /** Share of puts and dels that end indeterminate. */
  readonly indeterminate?: number;
  /** Share of dels among the operations (the rest are half puts, half gets). */
  readonly dels?: number;
}

export function generateHistory(options: GeneratedOptions): Operation[] {
  const source = new Random(options.seed);
  const random = () => source.float();
  const clock = Array.from({ length: options.clients }, () => random() * 5);
  const planned: { op: Operation; at: number; effect: boolean }[] = [];
  for (let id = 0; id < options.ops; id++) {
    const client = id % options.clients;
    const invokedAt = clock[client] as number;
    const completedAt = invokedAt + 1 + random() * 20;
    clock[client] = completedAt + random() * 3;
    const key = `k${Math.floor(random() * options.keys)}`;
    const at = invokedAt + random() * (completedAt - invokedAt);
    const roll = random();
    const indeterminate = random() < (options.indeterminate ?? 0);
    const outcome = indeterminate ? "indeterminate" : "ok";
    const common = { id, client, key, invokedAt, completedAt };
    const dels = options.dels ?? 0;
    if (roll < (1 - dels) / 2) {
      planned.push({
        op: { ...common, kind: "put", value: `c${client}-${id}`, outcome },
        at,
        effect: random() < 0.5 || !indeterminate,
      });
    } else if (roll < 1 - dels) {
      planned.push({ op: { ...common, kind: "get", value: null, outcome: "ok" }, at, effect: true });
    } else {
      planned.push({
        op: { ...common, kind: "del", existed: null, outcome },
        at,
        effect: random() < 0.5 || !indeterminate,
      });
    }
  }
  const state = new Map<string, string>();
  for (const entry of [...planned].sort((a, b) => a.at - b.at)) {
    const { op } = entry;
    if (!entry.effect) continue;
    if (op.kind === "put") state.set(op.key, op.value);
    else if (op.kind === "get") entry.op = { ...op, value: state.get(op.key) ?? null };
    else {
      const existed = state.delete(op.key);
      if (op.outcome === "ok") entry.op = { ...op, existed };
    }
  }
  return planned.map((p) => p.op).sort((a, b) => a.id - b.id);
}
