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

/** Ports that were free a moment ago (bound to :0 on 127.0.0.1 and released), all different. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(
      await new Promise<number>((done, fail) => {
        const server = createServer();
        server.once("error", fail);
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          const port = typeof address === "object" && address ? address.port : 0;
          server.close(() => done(port));
        });
      }),
    );
  }
  return [...ports];
}
