/**
 * The engine of a stream that answers out of order (KV.Batch): read requests as they come, start
 * each at once, and yield each answer as soon as it is ready, in completion order.
 *
 * Bounded: at most `maxInFlight` requests are started and not yet answered (an answer counts
 * until the consumer has taken it, i.e. until the transport has written the one before). At the
 * bound, reading stops until some are answered, so a client that sends faster than the node
 * serves, or does not read its answers, is held back by the transport's flow control rather
 * than by the node's memory.
 *
 * The stream ends once the requests end (the client half-closed) and every answer is yielded.
 * `answer` should not fail: a rejection, or a failure to read the requests, ends the stream with
 * that error (a stream-level failure). When the consumer stops early (the call was cancelled),
 * reading stops; the answers still running finish on their own and are dropped.
 */
export async function* answerUnordered<T, R>(
  requests: AsyncIterable<T>,
  answer: (request: T) => Promise<R>,
  maxInFlight: number,
): AsyncGenerator<R, void, undefined> {
  if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1, not ${maxInFlight}`);
  const source = requests[Symbol.asyncIterator]();
  let ready: R[] = [];
  /** Started and not yet taken by the consumer. */
  let inFlight = 0;
  let readerDone = false;
  let failure: { error: unknown } | undefined;
  let closed = false;
  /** The consumer, waiting for an answer or the end. */
  let wakeConsumer: (() => void) | undefined;
  /** The reader, waiting for room. */
  let wakeReader: (() => void) | undefined;
  const notify = () => {
    const wake = wakeConsumer;
    wakeConsumer = undefined;
    wake?.();
  };

  void (async () => {
    try {
      while (!closed) {
        while (inFlight >= maxInFlight && !closed) {
          await new Promise<void>((resume) => {
            wakeReader = resume;
          });
        }
        if (closed) return;
        const next = await source.next();
        if (next.done || closed) return;
        inFlight++;
        const request = next.value;
        Promise.resolve()
          .then(() => answer(request))
          .then(
            (response) => {
              ready.push(response);
              notify();
            },
            (error: unknown) => {
              failure ??= { error };
              notify();
            },
          );
      }
    } catch (error) {
      failure ??= { error };
    } finally {
      readerDone = true;
      notify();
    }
  })();

  try {
    for (;;) {
      if (failure) throw failure.error;
      if (ready.length > 0) {
        const batch = ready;
        ready = [];
        for (const response of batch) {
          yield response;
          inFlight--;
          const resume = wakeReader;
          wakeReader = undefined;
          resume?.();
        }
        continue;
      }
      if (readerDone && inFlight === 0) return;
      await new Promise<void>((wake) => {
        wakeConsumer = wake;
      });
    }
  } finally {
    if (!readerDone) {
      closed = true;
      wakeReader?.();
      // Ends the requests' iteration; a read in progress settles on its own.
      Promise.resolve()
        .then(() => source.return?.())
        .catch(() => {});
    }
  }
}
