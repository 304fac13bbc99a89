/**
 * A node's peer-transport counters (Admin status) as plain JSON for `cluster status --json`:
 * numbers rather than protobuf's uint64 strings, which stay exact below 2^53.
 */

import type { TransportStats } from "../gen/tinyo/v1/admin_pb.js";

type Figures<T> = { [K in Exclude<keyof T, "$typeName" | "$unknown">]: T[K] extends bigint ? number : T[K] };

export function transportFigures(
  t: TransportStats,
): Omit<Figures<TransportStats>, "peers"> & { peers: Figures<TransportStats["peers"][number]>[] } {
  const { $typeName: _, $unknown: __, peers, ...totals } = t;
  return {
    ...numbers(totals),
    peers: peers.map(({ $typeName: _t, $unknown: _u, ...peer }) => numbers(peer)),
  };
}

function numbers<T extends object>(o: T): Figures<T> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v]),
  ) as Figures<T>;
}
