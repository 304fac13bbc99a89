/**
 * The peer transport's counters as Prometheus metrics: read from stats() when scraped (one read
 * shared by every metric of a scrape), so the transport pays nothing per message beyond the
 * counters it already keeps.
 */

import { Counter, type Registry } from "prom-client";
import type { TransportStats } from "../transport/peer-transport.js";
import { oncePerScrape, perItem } from "./scraped.js";

export function registerTransportMetrics(registry: Registry, source: () => TransportStats): void {
  const stats = oncePerScrape(source);
  const total = (name: string, help: string, value: (s: TransportStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(stats()));
      },
    });
  };
  const perPeer = perItem(
    registry,
    "peer",
    () => stats().peers,
    (p) => String(p.peer),
  );

  total(
    "tinyo_transport_sent_batches_total",
    "Raft message batches written on accepted peer streams.",
    (s) => s.sentBatches,
  );
  total(
    "tinyo_transport_sent_messages_total",
    "Raft messages written on accepted peer streams.",
    (s) => s.sentMessages,
  );
  total(
    "tinyo_transport_received_batches_total",
    "Inbound Raft message batches handed to the Raft groups (Stream and Send).",
    (s) => s.receivedBatches,
  );
  total(
    "tinyo_transport_received_messages_total",
    "Inbound Raft messages handed to the Raft groups.",
    (s) => s.received,
  );
  total(
    "tinyo_transport_failed_streams_total",
    "Peer streams that failed: could not connect, refused, reset, stalled or ended by the peer.",
    (s) => s.failedCalls,
  );
  new Counter({
    name: "tinyo_transport_dropped_messages_total",
    help:
      "Raft messages dropped, by reason: overflow (queue full), failed_stream (lost with a failed " +
      "stream), fault (outbound drop fault), unroutable (no address), inbound_fault (inbound drop fault).",
    labelNames: ["reason"] as const,
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      this.inc({ reason: "overflow" }, s.droppedOverflow);
      this.inc({ reason: "failed_stream" }, s.droppedFailedCall);
      this.inc({ reason: "fault" }, s.droppedFault);
      this.inc({ reason: "unroutable" }, s.droppedUnroutable);
      this.inc({ reason: "inbound_fault" }, s.droppedInbound);
    },
  });
  total(
    "tinyo_transport_rejected_batches_total",
    "Inbound batches refused (wrong token, malformed, misaddressed, another sender on the stream).",
    (s) => s.rejectedCalls,
  );
  total(
    "tinyo_transport_snapshot_streams_sent_total",
    "Snapshot streams a peer acknowledged.",
    (s) => s.snapshotsSent,
  );
  total(
    "tinyo_transport_snapshot_streams_failed_total",
    "Snapshot streams that failed.",
    (s) => s.snapshotsFailed,
  );
  total(
    "tinyo_transport_snapshot_sent_bytes_total",
    "State bytes sent in snapshot streams.",
    (s) => s.snapshotBytesSent,
  );
  total(
    "tinyo_transport_snapshot_streams_received_total",
    "Inbound snapshot streams answered by the store.",
    (s) => s.snapshotsReceived,
  );
  total(
    "tinyo_transport_snapshot_received_bytes_total",
    "State bytes received in snapshot streams.",
    (s) => s.snapshotBytesReceived,
  );
  perPeer(
    "tinyo_transport_peer_queued_messages",
    "Messages waiting for the peer's stream (to open, to drain, or for the backoff to end).",
    "gauge",
    (p) => p.queued,
  );
  perPeer(
    "tinyo_transport_peer_in_flight_messages",
    "Messages written to the peer's stream and not yet confirmed sent.",
    "gauge",
    (p) => p.inFlight,
  );
  perPeer(
    "tinyo_transport_peer_delayed_messages",
    "Messages to the peer held by a delay fault.",
    "gauge",
    (p) => p.delayed,
  );
  perPeer(
    "tinyo_transport_peer_consecutive_failures",
    "Failed streams to the peer in a row; 0 once a stream was accepted.",
    "gauge",
    (p) => p.consecutiveFailures,
  );
  perPeer(
    "tinyo_transport_peer_sent_messages_total",
    "Raft messages written to the peer.",
    "counter",
    (p) => p.sentMessages,
  );
  perPeer(
    "tinyo_transport_peer_dropped_messages_total",
    "Raft messages for the peer that did not reach it.",
    "counter",
    (p) => p.dropped,
  );
}
