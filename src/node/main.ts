/**
 * One node process: opens the storage, builds the placement, hosts the Raft groups (Store),
 * connects to the peers (PeerTransport) and serves KV, Admin and Raft on one HTTP/2 server.
 *
 * Shutdown (SIGTERM, SIGINT, or a storage failure): new client requests are refused with
 * Unavailable; on a planned stop the partitions this node leads are handed to other replicas
 * (up to HAND_OFF_MS); the requests in progress finish (up to DRAIN_MS; Raft traffic keeps
 * flowing so that they can commit), then the server closes, the store stops, the transport and the two
 * stores close. Logs are JSON lines on stdout (pino).
 */

import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectRouter } from "@connectrpc/connect";
import { pino } from "pino";
import { Admin } from "../gen/tinyo/v1/admin_pb.js";
import { KV } from "../gen/tinyo/v1/kv_pb.js";
import type { NodeConfig } from "./config.js";
import { DataDirError, prepareDataDir } from "./data-dir.js";
import type { NodeId, PartitionId } from "./ids.js";
import { JoinError, joinCluster } from "./membership/join-cluster.js";
import { type MemberList, readMembers } from "./membership/member-records.js";
import { Membership } from "./membership/membership.js";
import { serveMetrics } from "./metrics/metrics-server.js";
import { createNodeMetrics } from "./metrics/node-metrics.js";
import { balancedLeaders, buildPlacement } from "./ring/index.js";
import { createAdminService } from "./service/admin.js";
import { requireClusterToken } from "./service/admin-auth.js";
import { ApplyOutcomes } from "./service/apply-outcomes.js";
import { InFlight } from "./service/in-flight.js";
import { createKvOperations, createKvService, kvFastMethods } from "./service/kv.js";
import { OpStats } from "./service/op-stats.js";
import { PeerClients } from "./service/peer-clients.js";
import { Routing } from "./service/routing.js";
import { ListenError, listen, type NodeServer } from "./service/server.js";
import { RaftEngine } from "./storage/raft-engine.js";
import { StateMachine } from "./storage/state-machine.js";
import { metadataPartition } from "./store/replica-targets.js";
import { Store } from "./store/store.js";
import { ClusterToken } from "./transport/cluster-token.js";
import { PeerTransport } from "./transport/peer-transport.js";

export type Logger = pino.Logger;

/** The node could not start; the message names what and what to do. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** How long a shutdown waits for the partitions this node leads to move to other replicas. */
const HAND_OFF_MS = 3000;
/** How long a shutdown waits for client requests in progress. */
const DRAIN_MS = 5000;
/** Then how long for the HTTP/2 sessions to end by themselves. */
const SESSION_GRACE_MS = 1000;
const LEADER_WATCH_MS = 250;
/** How long a joining node keeps asking the members it was given to admit it. */
const JOIN_TIMEOUT_MS = 60_000;

export interface RunningNode {
  /** Shuts down gracefully (once; later calls share the first); resolves when all is closed. */
  shutdown(reason: string, exitCode?: number): Promise<void>;
  /** Resolves with the exit code once the node has stopped. */
  readonly stopped: Promise<number>;
}

export function createLogger(config: NodeConfig): Logger {
  return pino(
    { base: { node: config.id }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Starts the node; throws StartupError (with everything opened so far closed again) if it cannot. */
export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  const startedAt = Date.now();
  const closers: (() => Promise<void> | void)[] = [];
  const closeOpened = async () => {
    for (const close of closers.splice(0).reverse()) await Promise.resolve(close()).catch(() => {});
  };
  try {
    const dirs = await prepareDataDir(config);
    // RocksDB first: its lock keeps a second process off this directory before the log is touched.
    const stateMachine = await StateMachine.open(dirs.kvDir).catch((error: unknown) => {
      throw new StartupError(`cannot open the state machine in ${dirs.kvDir}: ${message(error)}`);
    });
    closers.push(() => stateMachine.close());
    const engine = await RaftEngine.open(dirs.raftDir, { fsync: config.fsync }).catch((error: unknown) => {
      throw new StartupError(`cannot open the Raft log in ${dirs.raftDir}: ${message(error)}`);
    });
    closers.push(() => engine.close());

    const self = config.id;
    const settings = {
      partitions: config.partitions,
      vnodes: config.vnodes,
      replication: config.replication,
    };
    const founding = config.join ? undefined : new Map(config.peers.map((p) => [p.id, p.address]));
    const members = await initialMembers(config, stateMachine, founding);
    // The address book only grows: a member being removed still hosts replicas until they move.
    const addresses = new Map<NodeId, string>(members);
    addresses.set(self, config.listen.address);
    const placement = buildPlacement({ members: [...members.keys()], ...settings });
    const outcomes = new ApplyOutcomes(stateMachine);
    let store: Store | undefined;
    const transport = new PeerTransport({
      self,
      clusterToken: config.token,
      peers: addresses,
      onMessages: (_from, messages) => store?.receive(messages),
      onSnapshot: (snapshot) =>
        store ? store.receiveSnapshot(snapshot) : Promise.reject(new Error("the node is starting")),
      log: (event, fields) => log.info({ event, ...fields }),
    });
    closers.push(() => transport.close());
    let running: RunningNode | undefined;
    const peers = new PeerClients(addresses, config.token);
    closers.push(() => peers.close());
    store = await Store.open({
      self,
      placement,
      join: config.join !== undefined,
      onReplicaRemoved: (partition, node) => void tellRemoved(peers, partition, node, log),
      balancedLeaders: balancedLeaders(placement),
      engine,
      stateMachine: outcomes,
      send: (to, messages) => transport.send(to, messages),
      sendSnapshot: (group, message, chunks) => transport.sendSnapshot(group, message, chunks),
      compaction: { everyEntries: config.compactEvery },
      log: (event, fields) => log.info({ event, ...fields }),
      tickMs: config.tickMs,
      seed: randomInt(0, 2 ** 31),
      onFatal: (error) => {
        log.error({ event: "storage_failed", error: message(error) }, "storage failed: the node stops");
        void running?.shutdown(`storage failed: ${message(error)}`, 1);
      },
    });
    const opened = store;
    closers.push(() => opened.close());

    const membership = new Membership({
      self,
      settings,
      store,
      source: stateMachine,
      initial: members,
      founding,
      log: (event, fields) => log.info({ event, ...fields }),
      onChange: (list, next) => {
        for (const [id, address] of list) addresses.set(id, address);
        transport.setPeers(addresses);
        opened.setPlacement(next, balancedLeaders(next));
      },
    });
    closers.push(() => membership.stop());
    const routing = new Routing(self, store, () => membership.placement);
    const inFlight = new InFlight(self);
    const metrics = createNodeMetrics({
      node: self,
      // The metadata group is not a partition of the key space.
      groups: () => opened.status().filter((g) => g.partition < config.partitions),
      totals: { put: () => stats.puts.total, get: () => stats.gets.total },
      transport: () => transport.stats(),
    });
    const clock = () => performance.now();
    const stats = {
      puts: new OpStats(clock, (ms) => metrics.observe("put", ms)),
      gets: new OpStats(clock, (ms) => metrics.observe("get", ms)),
    };
    const shutdownSignal = new AbortController();
    const kvDeps = {
      self,
      partitions: config.partitions,
      store,
      stateMachine,
      outcomes,
      routing,
      peers,
      inFlight,
      stats,
    };
    const kvOperations = createKvOperations(kvDeps);
    const kv = createKvService(kvDeps, kvOperations);
    const admin = createAdminService({
      self,
      address: config.listen.address,
      membership,
      store,
      routing,
      peers,
      faults: transport,
      transport,
      stats,
      shutdown: shutdownSignal.signal,
      startedAt,
      metricsAddress: config.metricsListen?.address,
    });
    const routes = (router: ConnectRouter) => {
      transport.routes(router);
      router.service(KV, kv);
      router.service(Admin, admin, {
        interceptors: [requireClusterToken(new ClusterToken(config.token), self)],
      });
    };
    const server: NodeServer = await listen(
      routes,
      [...transport.fastMethods(), ...kvFastMethods(kvDeps, kvOperations)],
      config.listen.host,
      config.listen.port,
    ).catch((error: unknown) => {
      throw error instanceof ListenError ? new StartupError(error.message) : error;
    });
    closers.push(() => server.close(SESSION_GRACE_MS));
    if (config.metricsListen) {
      const { host, port } = config.metricsListen;
      const metricsServer = await serveMetrics(metrics.registry, host, port).catch((error: unknown) => {
        throw error instanceof ListenError ? new StartupError(error.message) : error;
      });
      closers.push(() => metricsServer.close());
    }

    store.start();
    membership.start();
    const stopWatching = watchLeaders(store, log);
    log.info(
      {
        event: "listening",
        address: config.listen.address,
        members: Object.fromEntries(members),
        partitions: config.partitions,
        replicas: store.partitions().length,
        replication: config.replication,
        fsync: config.fsync,
        tickMs: config.tickMs,
        compactEvery: config.compactEvery,
        metrics: config.metricsListen?.address,
        startupMs: Date.now() - startedAt,
      },
      `node ${self} listening on ${config.listen.address}`,
    );
    if (config.defaultToken) {
      log.warn(
        { event: "default_token" },
        "no --token (or TINYO_TOKEN): using the development token; anyone who knows it can send Raft messages",
      );
    }

    let stopping: Promise<void> | undefined;
    let resolveStopped: (code: number) => void = () => {};
    const stopped = new Promise<number>((resolve) => {
      resolveStopped = resolve;
    });
    running = {
      stopped,
      shutdown(reason, exitCode = 0) {
        stopping ??= (async () => {
          log.info({ event: "shutting_down", reason, inFlight: inFlight.size }, `shutting down: ${reason}`);
          const draining = inFlight.drain();
          if (exitCode === 0) {
            // A planned stop: move this node's leaderships first, so that it costs no election.
            const handOff = await opened.handOffLeaderships(HAND_OFF_MS);
            log.info({ event: "leaders_handed_off", ...handOff }, `leaderships handed off: ${handOff.moved}`);
          }
          const drained = await Promise.race([
            draining.then(() => true),
            new Promise<boolean>((r) => setTimeout(() => r(false), DRAIN_MS).unref()),
          ]);
          if (!drained)
            log.warn({ event: "drain_timeout", inFlight: inFlight.size }, "requests still in progress");
          shutdownSignal.abort();
          stopWatching();
          let code = exitCode;
          // The server first (closers run in reverse): then the store, transport, state machine, log.
          for (const close of closers.splice(0).reverse()) {
            try {
              await close();
            } catch (error) {
              code = 1;
              log.error({ event: "close_failed", error: message(error) }, "closing failed");
            }
          }
          log.info({ event: "stopped", exitCode: code }, `node ${self} stopped`);
          resolveStopped(code);
        })();
        return stopping;
      },
    };
    return running;
  } catch (error) {
    await closeOpened();
    if (error instanceof StartupError) throw error;
    if (error instanceof DataDirError) throw new StartupError(error.message);
    throw new StartupError(`the node could not start: ${message(error)}`);
  }
}

/**
 * The member list to start with: the one this node's replica of the metadata group applied, if
 * any; else, joining, the one the cluster answers; else the founding members (--peers).
 */
async function initialMembers(
  config: NodeConfig,
  stateMachine: StateMachine,
  founding: MemberList | undefined,
): Promise<MemberList> {
  const stored = await readMembers(stateMachine, metadataPartition(config.partitions));
  if (stored.size > 0) return stored;
  if (founding) return founding;
  const settings = { partitions: config.partitions, vnodes: config.vnodes, replication: config.replication };
  try {
    return await joinCluster(
      { seeds: config.join ?? [], self: config.id, address: config.listen.address, token: config.token },
      settings,
      JOIN_TIMEOUT_MS,
    );
  } catch (error) {
    if (error instanceof JoinError) throw new StartupError(error.message);
    throw error;
  }
}

/**
 * A removal this node proposed is applied: tell the removed node, which the leader no longer
 * talks to, that it may erase its replica (retried for a while: it may be restarting, or not
 * have applied the member list that drops it yet).
 */
async function tellRemoved(
  peers: PeerClients,
  partition: PartitionId,
  node: NodeId,
  log: Logger,
): Promise<void> {
  for (let attempt = 0; attempt < 30; attempt++) {
    try {
      const { erased } = await peers.admin(node).eraseReplica({ partition }, { timeoutMs: 5000 });
      if (erased) return;
    } catch {
      // Unreachable now: try again.
    }
    await sleep(1000);
  }
  log.warn({ event: "erase_not_confirmed", partition, node }, "a removed replica was not erased");
}

/** Logs, every LEADER_WATCH_MS, the partitions whose leader changed (one line for all of them). */
function watchLeaders(store: Store, log: Logger): () => void {
  const known = new Map<PartitionId, number>(store.partitions().map((p) => [p, 0]));
  const timer = setInterval(() => {
    const changes: { partition: number; leader: number; term: number }[] = [];
    for (const g of store.status()) {
      if (known.get(g.partition) === g.leader) continue;
      known.set(g.partition, g.leader);
      changes.push({ partition: g.partition, leader: g.leader, term: g.term });
    }
    if (changes.length > 0) log.info({ event: "leaders_changed", changes }, "leaders changed");
  }, LEADER_WATCH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Runs the node until SIGTERM or SIGINT (a second one exits at once) and returns the exit code.
 * Throws StartupError when it cannot start (already logged).
 */
export async function runNode(config: NodeConfig): Promise<number> {
  const log = createLogger(config);
  log.info({ event: "starting", dataDir: config.dataDir, pid: process.pid }, `node ${config.id} starting`);
  let node: RunningNode;
  try {
    node = await startNode(config, log);
  } catch (error) {
    log.error({ event: "startup_failed", error: message(error) }, "the node could not start");
    throw error;
  }
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ event: "forced_exit", signal }, `second ${signal}: exiting now`);
      process.exit(1);
    }
    signalled = true;
    void node.shutdown(`received ${signal}`);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("uncaughtException", (error) => {
    log.fatal(
      { event: "uncaught_exception", error: message(error), stack: error.stack },
      "uncaught exception",
    );
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    log.fatal({ event: "unhandled_rejection", error: message(reason) }, "unhandled promise rejection");
    process.exit(1);
  });
  return node.stopped;
}
