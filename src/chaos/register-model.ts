/**
 * The sequential specification of one key of a key-value store, encoded for the search: the
 * state is 0 when the key is absent, else the id (from 1) of the value it holds. Values are
 * interned per key, so a state is a small integer and a search state is cheap to remember.
 *
 * WILDCARD stands for "one of a set of states, not yet known": the state a window of the history
 * starts from (window.ts). The first operation that observes the state picks one; a put
 * replaces it without looking.
 */

export const ABSENT = 0;
export const WILDCARD = -1;
/** The result of a step the specification does not allow. */
export const ILLEGAL = -2;

export const PUT = 0;
export const GET = 1;
export const DEL = 2;
export type EncodedKind = typeof PUT | typeof GET | typeof DEL;

/** A del whose result is unknown (indeterminate): it empties the key either way. */
export const EXISTED_UNKNOWN = -1;

/** One operation of one key, ready for the search. */
export interface EncodedOperation {
  /** Its position in the key's list of operations. */
  readonly index: number;
  readonly call: number;
  /** +Infinity when indeterminate. */
  readonly ret: number;
  readonly kind: EncodedKind;
  /**
   * put: the value id written; get: the state read (ABSENT or a value id); del: 1 existed,
   * 0 did not, EXISTED_UNKNOWN.
   */
  readonly arg: number;
}

/** Where a search starts: one state, or any of several (WILDCARD). */
export interface InitialState {
  readonly state: number;
  /** The states WILDCARD may stand for; used only when `state` is WILDCARD. */
  readonly candidates: ReadonlySet<number>;
}

export const STARTS_ABSENT: InitialState = { state: ABSENT, candidates: new Set() };

/** The state after `op` from `state`, or ILLEGAL when the register could not have answered so. */
export function step(state: number, op: EncodedOperation, candidates: ReadonlySet<number>): number {
  switch (op.kind) {
    case PUT:
      return op.arg;
    case GET:
      if (state === WILDCARD) return candidates.has(op.arg) ? op.arg : ILLEGAL;
      return state === op.arg ? state : ILLEGAL;
    case DEL: {
      if (op.arg === EXISTED_UNKNOWN) return ABSENT;
      const existed = op.arg === 1;
      if (state === WILDCARD) {
        for (const candidate of candidates) if ((candidate !== ABSENT) === existed) return ABSENT;
        return ILLEGAL;
      }
      return (state !== ABSENT) === existed ? ABSENT : ILLEGAL;
    }
  }
}
