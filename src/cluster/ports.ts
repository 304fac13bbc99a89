/** Whether the members' ports are free, checked by binding each one for a moment. */

import { createServer } from "node:net";
import type { ClusterMember } from "./spec.js";

export async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first member whose port is taken, or undefined when all are free. */
export async function firstBusyMember(members: readonly ClusterMember[]): Promise<ClusterMember | undefined> {
  for (const member of members) {
    if (!(await portFree(member.host, member.port))) return member;
  }
  return undefined;
}
