/** The dashboard's state holder: the watchers dispatch into it, React subscribes to it. */

import type { TopState } from "./model.js";
import { reduce, type TopAction } from "./reducer.js";

export interface TopStore {
  getState(): TopState;
  dispatch(action: TopAction): void;
  subscribe(listener: () => void): () => void;
}

export function createTopStore(initial: TopState): TopStore {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      state = reduce(state, action);
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
