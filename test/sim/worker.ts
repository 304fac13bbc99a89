/** A worker thread of the pool: runs the batches it is sent and posts back their results. */
import { parentPort } from "node:worker_threads";
import { isBatchJob, runBatch } from "./batch.js";

const port = parentPort;
if (!port) throw new Error("worker.ts runs as a worker thread of the simulation pool");

port.on("message", (job: unknown) => {
  if (!isBatchJob(job)) throw new Error(`malformed batch: ${JSON.stringify(job)}`);
  port.postMessage(runBatch(job));
});
