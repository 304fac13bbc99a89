/** What a benchmark drives: one key-value system behind put/get/delete. */
export interface Target {
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  get(key: Uint8Array): Promise<void>;
  delete(key: Uint8Array): Promise<void>;
  /** A short name for an error (e.g. a gRPC code name): errors are counted by it. */
  errorCode(error: unknown): string;
  close(): Promise<void>;
}
