/** The transport's running totals, shared by its peer links and its Send handler. */
export class TransportCounters {
  /** Batches written on accepted peer streams, and the messages they carried. */
  sentBatches = 0;
  sentMessages = 0;
  /** Peer streams that failed (could not connect, refused, reset, stalled, ended by the peer). */
  failedCalls = 0;
  /** Outbound messages dropped because their queue was full (oldest first). */
  droppedOverflow = 0;
  /** Outbound messages lost with a failed stream (not yet confirmed written when it failed). */
  droppedFailedCall = 0;
  /** Outbound messages dropped by an outbound drop fault (or a delay line overflowing). */
  droppedFault = 0;
  /** Outbound messages for a node the transport has no address for, or sent after close(). */
  droppedUnroutable = 0;
  /** Inbound batches handed to onMessages, and their messages (Stream and Send alike). */
  receivedBatches = 0;
  received = 0;
  /** Inbound messages discarded by an inbound drop fault (or by a delay cut short). */
  droppedInbound = 0;
  /** Inbound batches refused (each ends its stream or call): wrong token, malformed batch,
   * misaddressed messages, another sender on the stream. */
  rejectedCalls = 0;
  /** Raft.SendSnapshot streams that the peer acknowledged, that failed, and the state bytes sent. */
  snapshotsSent = 0;
  snapshotsFailed = 0;
  snapshotBytesSent = 0;
  /** Inbound snapshot streams answered by the store, and the state bytes received. */
  snapshotsReceived = 0;
  snapshotBytesReceived = 0;

  /** Every outbound message that did not reach its peer's handler. */
  get dropped(): number {
    return this.droppedOverflow + this.droppedFailedCall + this.droppedFault + this.droppedUnroutable;
  }
}

/** One peer link, as stats() shows it. */
export interface PeerLinkStats {
  readonly peer: number;
  readonly address: string;
  /** Messages waiting for the stream (for it to open, drain, or for the backoff to end). */
  readonly queued: number;
  /** Messages held by a delay fault. */
  readonly delayed: number;
  /** Messages written (or opening a stream) and not yet confirmed sent. */
  readonly inFlight: number;
  /** Failed streams in a row; 0 once a stream was accepted. */
  readonly consecutiveFailures: number;
  readonly sentBatches: number;
  readonly sentMessages: number;
  readonly dropped: number;
}

export interface TransportStats {
  readonly sentBatches: number;
  readonly sentMessages: number;
  readonly failedCalls: number;
  readonly dropped: number;
  readonly droppedOverflow: number;
  readonly droppedFailedCall: number;
  readonly droppedFault: number;
  readonly droppedUnroutable: number;
  readonly receivedBatches: number;
  readonly received: number;
  readonly droppedInbound: number;
  readonly rejectedCalls: number;
  readonly snapshotsSent: number;
  readonly snapshotsFailed: number;
  readonly snapshotBytesSent: number;
  readonly snapshotsReceived: number;
  readonly snapshotBytesReceived: number;
  readonly peers: readonly PeerLinkStats[];
}
