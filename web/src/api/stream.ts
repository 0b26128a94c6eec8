// A server stream kept open: reopened when it ends, fails or falls silent,
// with backoff while it keeps failing. The React side is in hooks.ts.
import { Code, ConnectError } from '@connectrpc/connect';
import { isRetryable, streamRetryDelay } from './errors';

export interface KeepOpenOptions {
  /** A stream without a message for this long is dead (the server's keep-alives come more often). */
  silenceMs: number;
  /** A stream open this long before it ended was fine (a proxy's limit ended it): reopened at once. */
  healthyMs: number;
  /** The wait before the next attempt after `failures` failed ones in a row. */
  delay?: (failures: number) => number;
}

export interface KeepOpenEvents<T> {
  message(m: T): void;
  /** The first message of an attempt; `reopened` when an earlier one was made. */
  answered(reopened: boolean): void;
  /** An attempt failed; `stopped` when retrying cannot help (a refused request, a missing role) and no more are made. */
  failed(error: unknown, stopped: boolean): void;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * Opens the stream `open` gives and reads it until `stop` aborts, opening
 * it again whenever it ends: at once (after `delay(0)`) when it was
 * healthy (it answered, or lasted `healthyMs`, and did not fall silent),
 * else after `delay(n)` for the n-th failure in a row. A failure retrying
 * cannot cure ends it all.
 */
export async function keepOpen<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  on: KeepOpenEvents<T>,
  stop: AbortSignal,
  { silenceMs, healthyMs, delay = streamRetryDelay }: KeepOpenOptions,
): Promise<void> {
  let failures = 0;
  let attempts = 0;
  while (!stop.aborted) {
    attempts++;
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    stop.addEventListener('abort', abort);
    let silent = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listen = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        attempt.abort();
      }, silenceMs);
    };
    const started = Date.now();
    let answered = false;
    let failure: unknown = null;
    listen();
    try {
      for await (const m of open(attempt.signal)) {
        listen();
        if (!answered) {
          answered = true;
          failures = 0;
          on.answered(attempts > 1);
        }
        on.message(m);
      }
    } catch (err) {
      failure = silent ? new ConnectError(`no message for ${Math.round(silenceMs / 1000)} s`, Code.DeadlineExceeded) : err;
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', abort);
    }
    if (stop.aborted) return;
    if (failure !== null && !isRetryable(failure)) {
      on.failed(failure, true);
      return;
    }
    if (!silent && (answered || Date.now() - started >= healthyMs)) {
      failures = 0;
    } else {
      failures++;
      on.failed(failure ?? new ConnectError('the stream ended before it answered', Code.Unavailable), false);
    }
    await sleep(delay(failures), stop);
  }
}
