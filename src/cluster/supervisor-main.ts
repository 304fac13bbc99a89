/**
 * The supervisor process (`tinyo cluster supervise`, started detached by `cluster up`): refuses
 * to run beside another live supervisor of the same cluster, starts the nodes, serves the control
 * API on 127.0.0.1, writes supervisor.json once it listens, and exits after a shutdown request or
 * SIGTERM/SIGINT, with every node stopped. Its log (JSON lines on stdout) goes to supervisor.log.
 */

import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ClusterError } from "./errors.js";
import { currentCliEntry } from "./node-process.js";
import type { ClusterPaths } from "./paths.js";
import { pidAlive } from "./processes.js";
import { readSpec } from "./spec.js";
import { readSupervisorInfo, writeSupervisorInfo } from "./state.js";
import { ControlError, Supervisor, type SupervisorLog } from "./supervisor.js";
import {
  CONTROL_PATH,
  type ControlResponse,
  MAX_CONTROL_BODY,
  parseControlRequest,
  TOKEN_HEADER,
} from "./supervisor-protocol.js";

const log: SupervisorLog = (event, fields = {}) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
};

/** Runs until the cluster is shut down; resolves with the exit code. */
export async function runSupervisor(paths: ClusterPaths): Promise<number> {
  const spec = readSpec(paths);
  if (!spec) throw new ClusterError(`${paths.spec} does not exist: run \`tinyo cluster up\``);
  const running = readSupervisorInfo(paths);
  if (running && running.pid !== process.pid && pidAlive(running.pid)) {
    throw new ClusterError(`a supervisor (pid ${running.pid}) already runs cluster '${spec.name}'`);
  }
  const supervisor = new Supervisor(spec, paths, currentCliEntry(), log);
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    done = resolve;
  });

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (why: string) => {
    shuttingDown ??= (async () => {
      log("supervisor.shutdown", { why });
      await supervisor.shutdown();
      server.close();
      rmSync(paths.supervisor, { force: true });
    })();
    return shuttingDown;
  };

  // One operation at a time: a kill and a restart of the same node must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((request, response) => {
    queue = queue.then(() => serve(request, response));
  });
  const serve = async (request: IncomingMessage, response: ServerResponse) => {
    const reply = (status: number, body: ControlResponse) => {
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (request.method !== "POST" || request.url !== CONTROL_PATH) {
      return reply(404, { ok: false, error: `POST ${CONTROL_PATH} only` });
    }
    if (request.headers[TOKEN_HEADER] !== spec.token) {
      return reply(401, { ok: false, error: "wrong or missing cluster token" });
    }
    let body = "";
    for await (const chunk of request) {
      body += chunk;
      if (body.length > MAX_CONTROL_BODY) return reply(413, { ok: false, error: "request too large" });
    }
    let parsed: ReturnType<typeof parseControlRequest>;
    try {
      parsed = parseControlRequest(JSON.parse(body));
    } catch {
      parsed = "the request is not JSON";
    }
    if (typeof parsed === "string") return reply(400, { ok: false, error: parsed });
    try {
      if (parsed.op === "shutdown") {
        await shutdown("shutdown request");
        response.once("finish", () => done(0));
        return reply(200, { ok: true, state: supervisor.state() });
      }
      return reply(200, { ok: true, state: await supervisor.handle(parsed) });
    } catch (error) {
      if (error instanceof ControlError) return reply(409, { ok: false, error: error.message });
      log("supervisor.error", { error: String(error) });
      return reply(500, { ok: false, error: String(error) });
    }
  };

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => void shutdown(signal).then(() => done(0)));
  }
  process.on("SIGHUP", () => {}); // detached from any terminal: a closing terminal must not stop it

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  supervisor.startAll();
  const { port } = server.address() as AddressInfo;
  writeSupervisorInfo(paths, { pid: process.pid, port, startedAt: new Date().toISOString() });
  log("supervisor.started", { pid: process.pid, port, nodes: spec.members.length });
  return finished;
}
