/** Errors of the Raft log engine, each with a message a person can act on. */

/** The directory holds something that is not a tinyo Raft log: we never touch it. */
export class NotARaftLogError extends Error {
  override name = "NotARaftLogError";
}

/** Damage that is not a torn tail: opening would lose acknowledged data, so we refuse. */
export class RaftLogCorruptError extends Error {
  override name = "RaftLogCorruptError";
}

/** A write() or compact() that breaks the log's rules (a bug in the caller); nothing was written. */
export class InvalidLogWriteError extends Error {
  override name = "InvalidLogWriteError";
}

/**
 * An earlier write or fsync failed, so the file may hold a partial batch and the page cache
 * cannot be trusted: every later call fails too. Reopening the engine recovers (the partial
 * batch is cut as a torn tail).
 */
export class RaftEngineFailedError extends Error {
  override name = "RaftEngineFailedError";
}
