/**
 * Raft ticks from a monotonic clock. A timer alone lags real time whenever the event loop is
 * busy, and by the whole pause when the process was stopped (SIGSTOP): a leader ticked that way
 * would think less time had passed than its followers did, and hold its lease too long. So the
 * count of ticks is derived from the clock, and the store delivers what it owes on its timer,
 * before deciding a lease read, and before stepping messages: a follower stamps when it heard
 * its leader with its tick count, and a count that lagged then and caught up after would cut
 * its hold on its vote short. The count never runs ahead of real time.
 */
export class TickClock {
  private delivered = 0;
  private readonly origin: number;

  constructor(
    private readonly tickMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.origin = now();
  }

  /** The ticks real time owes since the last call (0 most of the time, more after a stall). */
  owed(): number {
    const due = Math.floor((this.now() - this.origin) / this.tickMs);
    const owed = due - this.delivered;
    this.delivered = due;
    return owed;
  }
}
