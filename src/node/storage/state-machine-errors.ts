/** Errors of the state machine store, each with a message a person can act on. */

/** The directory holds something that is not a tinyo state machine: we never touch it. */
export class NotAStateMachineError extends Error {
  override name = "NotAStateMachineError";
}

/** RocksDB refused to open the database (damage, permissions, another process holds it). */
export class StateMachineOpenError extends Error {
  override name = "StateMachineOpenError";
}

/** A call that breaks the state machine's rules (a bug in the caller); nothing was written. */
export class InvalidCallError extends Error {
  override name = "InvalidCallError";
}

/** Snapshot chunks that are not in the format `snapshot()` produces. */
export class SnapshotFormatError extends Error {
  override name = "SnapshotFormatError";
}

/**
 * A RocksDB write failed, so what is stored may lag behind what the caller believes: every later
 * write fails too. Reopening recovers (the Raft log is replayed from the stored applied index).
 */
export class StateMachineFailedError extends Error {
  override name = "StateMachineFailedError";
}

/** The state machine was closed. */
export class StateMachineClosedError extends Error {
  override name = "StateMachineClosedError";
}
