/** The operation mix of a benchmark: `put=50,get=50` gives each operation type a weight. */

export const OPERATIONS = ["put", "get", "delete"] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface Mix {
  /** Operation types with a positive weight, in OPERATIONS order. */
  readonly operations: readonly Operation[];
  /** Cumulative weights, normalized so the last is 1 (same order as `operations`). */
  readonly cumulative: readonly number[];
}

export class MixError extends Error {}

const isOperation = (name: string): name is Operation => (OPERATIONS as readonly string[]).includes(name);

/** Parses `put=50,get=50` (weights are non-negative integers up to 1,000,000; their sum must be positive). */
export function parseMix(text: string): Mix {
  const weights = new Map<Operation, number>();
  for (const part of text.split(",")) {
    const match = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match) throw new MixError(`bad mix entry "${part.trim()}": expected OP=WEIGHT, e.g. put=50,get=50`);
    const [, name = "", weightText = ""] = match;
    if (!isOperation(name)) {
      throw new MixError(`unknown operation "${name}" in the mix: use ${OPERATIONS.join(", ")}`);
    }
    if (weights.has(name)) throw new MixError(`"${name}" appears twice in the mix`);
    const weight = Number(weightText);
    if (weight > 1_000_000) throw new MixError(`the weight of "${name}" is above 1000000`);
    weights.set(name, weight);
  }
  const operations = OPERATIONS.filter((op) => (weights.get(op) ?? 0) > 0);
  const total = operations.reduce((sum, op) => sum + (weights.get(op) ?? 0), 0);
  if (total === 0) throw new MixError("the mix has no operation with a positive weight");
  let running = 0;
  const cumulative = operations.map((op) => {
    running += weights.get(op) ?? 0;
    return running / total;
  });
  return { operations, cumulative };
}

/** The operation that a uniform draw `u` in [0, 1) picks. */
export function pickOperation(mix: Mix, u: number): Operation {
  for (let i = 0; i < mix.operations.length; i++) {
    if (u < (mix.cumulative[i] as number)) return mix.operations[i] as Operation;
  }
  return mix.operations[mix.operations.length - 1] as Operation;
}
