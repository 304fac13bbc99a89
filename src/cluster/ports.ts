/** Whether the members' ports are free, checked by binding each one for a moment. */

import { createServer } from "node:net";
import { type ClusterMember, portsOf } from "./spec.js";

export async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first port of a member that is taken (with the member and its use), or undefined. */
export async function firstBusyPort(
  members: readonly ClusterMember[],
): Promise<{ member: ClusterMember; port: number; use: string } | undefined> {
  for (const member of members) {
    for (const { port, use } of portsOf(member)) {
      if (!(await portFree(member.host, port))) return { member, port, use };
    }
  }
  return undefined;
}
