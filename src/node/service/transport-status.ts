/** The peer transport's counters as Admin's NodeStatus carries them (admin.proto TransportStats). */

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TransportStatsSchema } from "../../gen/tinyo/v1/admin_pb.js";
import type { TransportStats } from "../transport/peer-transport.js";

export function transportStatus(s: TransportStats): MessageInitShape<typeof TransportStatsSchema> {
  return {
    sentBatches: BigInt(s.sentBatches),
    sentMessages: BigInt(s.sentMessages),
    failedStreams: BigInt(s.failedCalls),
    droppedOverflow: BigInt(s.droppedOverflow),
    droppedFailedStream: BigInt(s.droppedFailedCall),
    droppedFault: BigInt(s.droppedFault),
    droppedUnroutable: BigInt(s.droppedUnroutable),
    receivedBatches: BigInt(s.receivedBatches),
    receivedMessages: BigInt(s.received),
    droppedInbound: BigInt(s.droppedInbound),
    rejectedBatches: BigInt(s.rejectedCalls),
    snapshotsSent: BigInt(s.snapshotsSent),
    snapshotsFailed: BigInt(s.snapshotsFailed),
    snapshotBytesSent: BigInt(s.snapshotBytesSent),
    snapshotsReceived: BigInt(s.snapshotsReceived),
    snapshotBytesReceived: BigInt(s.snapshotBytesReceived),
    peers: s.peers.map((p) => ({
      peer: p.peer,
      address: p.address,
      queued: p.queued,
      delayed: p.delayed,
      inFlight: p.inFlight,
      consecutiveFailures: p.consecutiveFailures,
      sentBatches: BigInt(p.sentBatches),
      sentMessages: BigInt(p.sentMessages),
      dropped: BigInt(p.dropped),
    })),
  };
}
