/**
 * A host's clock: real (simulated) time as its process sees it, in ticks. Each host's clock
 * runs at its own rate, within a bounded skew of the global one, and starts at its own phase, so
 * that members neither tick in lockstep nor agree exactly on how long a timeout is; a host
 * delivers ticks as its clock says they fall due (host.ts), never ahead of it.
 */
import { TICK } from "./scenario.js";

export class HostClock {
  constructor(
    /** Time units of the host's clock per global unit, e.g. 1.01. */
    readonly rate: number,
    /** Where within a tick the host's clock stood at time 0, in units. */
    readonly phase: number,
  ) {}

  /** How many ticks the host's clock has counted at global time `now`. */
  due(now: number): number {
    return Math.floor((now * this.rate + this.phase) / TICK);
  }
}
