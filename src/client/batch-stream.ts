/**
 * One KV.Batch stream to one node, multiplexing requests: each gets the next id (1, 2, ...,
 * never reused on this stream), is queued for the stream, and its promise resolves with the
 * answer that carries its id, whatever the order the node answers in. The node reads at most
 * 1000 requests of a stream at a time and then holds the rest back through HTTP/2 flow control,
 * so the number of requests awaiting an answer is up to the caller: here they wait in a queue.
 *
 * A request not answered within its timeout fails with DeadlineExceeded (a late answer is
 * dropped). When the stream fails (the node is down or went away) every request awaiting an
 * answer fails with the stream's error, and the stream takes no more: open another.
 */

import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { type BatchRequest, BatchRequestSchema, type BatchResponse, type KV } from "../gen/tinyo/v1/kv_pb.js";

/** What one BatchRequest asks: a put, get, delete or scan. */
export type BatchOperation = Exclude<BatchRequest["request"], { case: undefined }>;
/** What one BatchResponse answers: a put, get, delete or scan response, or a BatchError. */
export type BatchAnswer = Exclude<BatchResponse["response"], { case: undefined }>;

interface Waiter {
  readonly resolve: (answer: BatchAnswer) => void;
  readonly reject: (error: ConnectError) => void;
  readonly timer: NodeJS.Timeout;
}

export class BatchStream {
  private nextId = 1n;
  private readonly waiting = new Map<bigint, Waiter>();
  private queue: BatchRequest[] = [];
  private wakeWriter: (() => void) | undefined;
  private halfClosed = false;
  private ended: ConnectError | undefined;
  private readonly abortController = new AbortController();
  private readonly done: Promise<void>;

  constructor(kv: Client<typeof KV>) {
    this.done = this.read(kv.batch(this.requests(), { signal: this.abortController.signal }));
  }

  /** Whether the stream takes requests: not closed, not ended, not failed. */
  get usable(): boolean {
    return !this.halfClosed && this.ended === undefined;
  }

  /** Requests sent and not yet answered (or timed out). */
  get size(): number {
    return this.waiting.size;
  }

  /** Sends one request; resolves with its answer, which may be a BatchError. */
  send(request: BatchOperation, timeoutMs: number): Promise<BatchAnswer> {
    if (!this.usable) {
      return Promise.reject(this.ended ?? new ConnectError("the batch stream is closed", Code.Canceled));
    }
    const id = this.nextId++;
    return new Promise<BatchAnswer>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(id);
          reject(
            new ConnectError(`no answer on the batch stream within ${timeoutMs} ms`, Code.DeadlineExceeded),
          );
        },
        Math.max(1, timeoutMs),
      );
      this.waiting.set(id, { resolve, reject, timer });
      this.queue.push(create(BatchRequestSchema, { id, request }));
      this.wake();
    });
  }

  /** Half-closes the stream: no more requests; resolves once every answer has come (or it failed). */
  async close(): Promise<void> {
    this.halfClosed = true;
    this.wake();
    await this.done;
  }

  /** Ends the stream at once: requests awaiting an answer fail with Canceled. */
  cancel(): void {
    this.fail(new ConnectError("the batch stream was cancelled", Code.Canceled));
    this.abortController.abort();
  }

  private async *requests(): AsyncGenerator<BatchRequest> {
    for (;;) {
      if (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        yield* batch;
        continue;
      }
      if (this.halfClosed || this.ended !== undefined) return;
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
  }

  private async read(responses: AsyncIterable<BatchResponse>): Promise<void> {
    try {
      for await (const response of responses) {
        const waiter = this.waiting.get(response.id);
        if (!waiter) continue; // timed out: nobody waits for it any more
        this.waiting.delete(response.id);
        clearTimeout(waiter.timer);
        const answer = response.response;
        if (answer.case === undefined) {
          waiter.reject(new ConnectError(`the answer to request ${response.id} is empty`, Code.Internal));
        } else {
          waiter.resolve(answer);
        }
      }
      this.fail(
        new ConnectError("the batch stream ended before every request was answered", Code.Unavailable),
      );
    } catch (error) {
      this.fail(ConnectError.from(error));
    }
  }

  private fail(error: ConnectError): void {
    this.ended ??= error;
    for (const waiter of this.waiting.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiting.clear();
    this.queue = [];
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }
}
