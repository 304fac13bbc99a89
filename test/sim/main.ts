/**
 * Deterministic simulation of tinyo's Raft core (src/node/raft).
 *
 *   npm run sim -- --seeds N [--from S] [--nodes 3|5] [--verbose] [--variant NAME] [--workers K]
 *
 * Each seed is one run of a 3- or 5-member group (among node ids 1..7) on simulated time, a
 * pure function of the seed (xoshiro128**, see random.ts). Time advances in units; a member
 * ticks every 10 units and a message normally takes 1-4. What a seed does:
 * - Members are driven by hosts that follow the Ready contract: persist to a "disk" (snapshot,
 *   entries, hard state), send, apply to an in-memory state machine, serve reads, advance;
 *   sometimes persisting takes a while and the core keeps stepping meanwhile. Hosts compact
 *   their log every few applied entries, so lagging members catch up by snapshot.
 * - The network drops, delays (reorders) and duplicates messages, and partitions the members:
 *   random splits, an isolated leader, majority/minority, one-way links, a broken pair.
 * - Members pause (SIGSTOP), and crash (losing all but their disk, the state machine reverts
 *   to the snapshot) and restart; new leaders are sometimes struck right after their election, after accepting a
 *   write or after advancing their commit index (the histories of Raft's Figure 8).
 * - Each member's clock runs at its own rate (within a skew drawn per seed) and phase; its host
 *   delivers the ticks the clock says are due, except while busy (they pile up and come at
 *   once) or paused (a stopped process: messages queue up too); see clock.ts and host.ts.
 * - Clients write unique payloads, read with ReadIndex or LEASE (also from deposed leaders, and
 *   from a leader the moment it resumes from a pause), transfer
 *   leadership and change membership one step at a time (add a learner, promote it, remove a
 *   voter or the leader, never below 3 voters).
 * - The core's options are drawn per seed: pre-vote, check-quorum, in-flight window, entries
 *   per append, election and heartbeat ticks; so are the fault rates.
 * Storms (faults on) alternate with calms (network healed, crashed members restarted) for 1000
 * ticks, then a final calm checks liveness.
 *
 * Checked after every event (checker.ts): election safety (one leader per term), log matching
 * (same index and term => same entry and same history), leader completeness (a leader holds
 * every entry committed in an earlier term; and, one step ahead, no member lacking a committed
 * entry could win an election with the logs now on disk), state machine safety (all members apply one
 * sequence; snapshots hold exactly its prefix; no payload at two indexes), durability (the
 * core's log and hard state are what it had the host persist), membership (learners and
 * removed members never campaign), linearizable reads (a read sees every write acknowledged
 * before it was asked), and at the end acknowledged writes (all applied on every member of the
 * final configuration) and liveness (within 20 election timeouts of calm, a leader among the
 * voters gets a fresh write applied on every member).
 *
 * A violation prints the seed, the property, a detail and the last 60 events. To replay one:
 *   npm run sim -- --from SEED --seeds 1 --verbose     (every event as it happens)
 * --variant runs a deliberately broken member instead (staleVotes, commitOldTerms,
 * readWithoutHeartbeat, leaseForever; see variants.ts) to show that the checks catch it.
 * Exit status: 0 without violations, 1 with some, 2 for bad flags.
 */
import { availableParallelism } from "node:os";
import { type BatchJob, type BatchResult, runBatch } from "./batch.js";
import { runPool } from "./pool.js";
import { describeViolation } from "./simulation.js";
import type { Stats } from "./stats.js";
import { isVariantName, variants } from "./variants.js";

interface Args {
  readonly job: BatchJob;
  readonly verbose: boolean;
  readonly workers: number;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  let seeds = 100;
  let from = 1;
  let nodes: 3 | 5 | undefined;
  let verbose = false;
  let variant: BatchJob["variant"];
  let workers = availableParallelism();
  const integer = (flag: string, value: string | undefined, min: number): number => {
    if (value === undefined || !/^\d+$/.test(value) || Number(value) < min) {
      throw new UsageError(`${flag} needs an integer >= ${min}, got ${value ?? "nothing"}`);
    }
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq >= 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case "--seeds":
        seeds = integer(flag, value(), 1);
        break;
      case "--from":
        from = integer(flag, value(), 0);
        break;
      case "--nodes": {
        const n = value();
        if (n !== "3" && n !== "5") throw new UsageError(`--nodes must be 3 or 5, got ${n ?? "nothing"}`);
        nodes = n === "3" ? 3 : 5;
        break;
      }
      case "--verbose":
        verbose = true;
        break;
      case "--variant": {
        const name = value() ?? "";
        if (!isVariantName(name)) {
          throw new UsageError(
            `--variant must be one of ${Object.keys(variants).join(", ")}, got ${name || "nothing"}`,
          );
        }
        variant = name;
        break;
      }
      case "--workers":
        workers = integer(flag, value(), 1);
        break;
      default:
        throw new UsageError(
          `unknown argument ${arg} (usage: --seeds N [--from S] [--nodes 3|5] [--verbose])`,
        );
    }
  }
  const job: BatchJob = {
    from,
    count: seeds,
    ...(nodes === undefined ? {} : { nodes }),
    ...(variant === undefined ? {} : { variant }),
  };
  return { job, verbose, workers };
}

function describeStats(stats: Stats, seeds: number, busyMs: number): string {
  const avg = (n: number): string => (n / seeds).toFixed(1);
  return (
    `sim: ${(busyMs / seeds).toFixed(1)} ms per seed (one thread); per seed on average ${avg(stats.ticks)} ticks, ` +
    `${avg(stats.acknowledged)} writes acknowledged (${avg(stats.lost)} lost), ${avg(stats.readsServed)} reads served ` +
    `(${avg(stats.leaseReads)} from a lease), ${avg(stats.pauses)} pauses, ` +
    `${avg(stats.confChanges)} conf changes, ${avg(stats.transfers)} transfers, ${avg(stats.crashes)} crashes, ` +
    `${avg(stats.partitions)} partitions, ${avg(stats.elections)} elections, ${avg(stats.snapshotsSent)} snapshots sent, ` +
    `${avg(stats.messages)} messages (${avg(stats.dropped)} dropped)`
  );
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`sim: ${error.message}`);
    return 2;
  }
  const { job } = args;
  const started = Date.now();
  let result: BatchResult;
  // A few seeds (or a replay) run here: no thread start-up, and --verbose lines stay in order.
  if (args.verbose || job.count < 40 || args.workers === 1) {
    result = runBatch(job, args.verbose ? (line) => console.log(line) : undefined);
  } else {
    let done = 0;
    let found = 0;
    let reported = 0;
    const step = Math.max(100, Math.ceil(job.count / 10));
    result = await runPool(job, args.workers, (batch) => {
      done += batch.seeds;
      found += batch.violations.length;
      if (done - reported >= step && done < job.count) {
        reported = done;
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`sim: ${done}/${job.count} seeds, ${found} violations (${secs} s)`);
      }
    });
  }
  for (const v of result.violations) console.log(`\nviolation: ${describeViolation(v)}`);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${describeStats(result.stats, result.seeds, result.busyMs)}; ${secs} s wall`);
  console.log(`sim: ${result.seeds} seeds, ${result.violations.length} violations`);
  return result.violations.length === 0 ? 0 : 1;
}

process.exitCode = await main();
