/**
 * The supervisor's control API: JSON over HTTP on 127.0.0.1 (the port is in supervisor.json),
 * each request carrying the cluster token. One request per operation; the answer is the state
 * of every node after it, or an error message for a person.
 */

import type { SupervisorState } from "./state.js";

export type StopSignal = "SIGKILL" | "SIGTERM";

export type ControlRequest =
  | { readonly op: "state" }
  | { readonly op: "kill"; readonly node: number; readonly signal: StopSignal }
  | { readonly op: "start"; readonly node: number }
  | { readonly op: "restart"; readonly node: number }
  | { readonly op: "pause"; readonly node: number }
  | { readonly op: "resume"; readonly node: number }
  /** A new node: recorded in cluster.json and spawned with --join (it joins the running cluster). */
  | { readonly op: "add"; readonly node: number; readonly port: number; readonly metricsPort?: number }
  /** A node whose replicas have moved away: stopped, its directory deleted, dropped from cluster.json. */
  | { readonly op: "remove"; readonly node: number }
  | { readonly op: "shutdown" };

export type ControlResponse =
  | { readonly ok: true; readonly state: SupervisorState }
  | { readonly ok: false; readonly error: string };

export const CONTROL_PATH = "/control";
export const TOKEN_HEADER = "x-tinyo-token";
/** Requests are tiny: anything larger is refused. */
export const MAX_CONTROL_BODY = 4096;

const NODE_OPS = new Set(["start", "restart", "pause", "resume", "remove"]);
const isPort = (n: unknown): n is number =>
  typeof n === "number" && Number.isInteger(n) && n > 0 && n < 65536;

/** The request, or a message saying why it is not one. */
export function parseControlRequest(value: unknown): ControlRequest | string {
  if (typeof value !== "object" || value === null) return "the request is not a JSON object";
  const { op, node, signal, port, metricsPort } = value as Record<string, unknown>;
  if (op === "state" || op === "shutdown") return { op };
  if (typeof node !== "number" || !Number.isInteger(node)) return `${String(op)} needs an integer node`;
  if (op === "kill") {
    if (signal !== "SIGKILL" && signal !== "SIGTERM") return "kill needs signal SIGKILL or SIGTERM";
    return { op, node, signal };
  }
  if (op === "add") {
    if (!isPort(port) || (metricsPort !== undefined && !isPort(metricsPort))) return "add needs valid ports";
    return { op, node, port, ...(metricsPort !== undefined && { metricsPort }) };
  }
  if (typeof op === "string" && NODE_OPS.has(op)) return { op, node } as ControlRequest;
  return `unknown operation ${JSON.stringify(op)}`;
}
