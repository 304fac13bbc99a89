/**
 * `tinyo top`: learns the members and partitions from any reachable node (Admin.Routes), then
 * watches every member (and the nodes that join later: watch.ts) and renders the dashboard until
 * `q` (or SIGINT/SIGTERM). Full screen: the
 * terminal's alternate screen, restored on exit. React's production build is chosen by the
 * command (NODE_ENV) before this module is loaded.
 */

import { render } from "ink";
import { TinyoClient } from "../../client/index.js";
import { App } from "./components/App.js";
import type { NodeControls } from "./controls.js";
import { initialState } from "./model.js";
import type { TopAction } from "./reducer.js";
import { createTopStore } from "./store.js";
import { watchCluster } from "./watch.js";

const DISCOVERY_DEADLINE_MS = 30_000;
const ALTERNATE_SCREEN_ON = "\u001b[?1049h\u001b[H";
const ALTERNATE_SCREEN_OFF = "\u001b[?1049l";

/** The cluster could not be reached; the message says which endpoints were tried. */
export class TopError extends Error {
  override name = "TopError";
}

export interface TopOptions {
  readonly cluster: string;
  readonly endpoints: readonly string[];
  readonly controls: (dispatch: (action: TopAction) => void) => NodeControls;
  /** Feeds the processes' states (from a cluster manager) until the signal aborts. */
  readonly watchProcesses?: (dispatch: (action: TopAction) => void, signal: AbortSignal) => void;
}

export async function runTop(options: TopOptions): Promise<void> {
  const client = new TinyoClient({ endpoints: options.endpoints, deadlineMs: DISCOVERY_DEADLINE_MS });
  let routes: Awaited<ReturnType<TinyoClient["routes"]>>;
  try {
    routes = await client.routes();
  } catch (error) {
    throw new TopError(
      `cannot reach the cluster at ${options.endpoints.join(", ")}: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    client.close();
  }
  const members = routes.nodes.map((n) => ({ id: n.node, address: n.address }));
  const store = createTopStore(
    initialState(
      options.cluster,
      members,
      routes.routes.map((r) => ({ id: r.partition, replicas: r.replicas })),
    ),
  );
  const stop = new AbortController();
  const watching = watchCluster(members, store.dispatch, stop.signal);
  options.watchProcesses?.(store.dispatch, stop.signal);
  const ticker = setInterval(() => store.dispatch({ type: "tick", at: Date.now() }), 1000);

  const interactive = process.stdin.isTTY === true;
  const fullScreen = process.stdout.isTTY === true;
  if (fullScreen) process.stdout.write(ALTERNATE_SCREEN_ON);
  const instance = render(
    <App store={store} controls={options.controls(store.dispatch)} interactive={interactive} />,
    { exitOnCtrlC: true, patchConsole: false, maxFps: 10 },
  );
  const quit = () => instance.unmount();
  process.once("SIGINT", quit);
  process.once("SIGTERM", quit);
  try {
    await instance.waitUntilExit();
  } finally {
    process.off("SIGINT", quit);
    process.off("SIGTERM", quit);
    clearInterval(ticker);
    stop.abort();
    await watching;
    if (fullScreen) process.stdout.write(ALTERNATE_SCREEN_OFF);
  }
}
