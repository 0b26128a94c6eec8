import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { keepOpen, type KeepOpenEvents } from './stream';

/** What one attempt does: send these messages, then end, fail, or hang until aborted. */
interface Script {
  messages: number[];
  then: 'end' | Error | 'hang';
}

/** Waits until `signal` aborts, then throws as a cancelled call does. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new ConnectError('aborted', Code.Canceled));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail);
  });
}

function scripted(scripts: Script[], stop: AbortController) {
  const signals: AbortSignal[] = [];
  const open = (signal: AbortSignal) => {
    signals.push(signal);
    const script = scripts[signals.length - 1];
    return (async function* () {
      // No more scripts: the test is over.
      if (!script) {
        stop.abort();
        return await aborted(signal);
      }
      for (const m of script.messages) yield m;
      if (script.then === 'hang') await aborted(signal);
      if (script.then instanceof Error) throw script.then;
    })();
  };
  return { open, signals };
}

function recorder(): KeepOpenEvents<number> & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    message: (m) => log.push(`message ${m}`),
    answered: (reopened) => log.push(reopened ? 'answered again' : 'answered'),
    failed: (error, stopped) => log.push(`failed ${Code[ConnectError.from(error).code]}${stopped ? ' stopped' : ''}`),
  };
}

const unavailable = () => new ConnectError('upstream reset', Code.Unavailable);

describe('keepOpen', () => {
  it('reads messages, and reopens at once a stream that answered', async () => {
    const stop = new AbortController();
    const { open, signals } = scripted(
      [
        { messages: [1, 2], then: 'end' },
        { messages: [3], then: unavailable() },
      ],
      stop,
    );
    const on = recorder();
    const delays: number[] = [];
    await keepOpen(open, on, stop.signal, { silenceMs: 1000, healthyMs: 60_000, delay: (n) => (delays.push(n), 0) });
    expect(on.log).toEqual(['answered', 'message 1', 'message 2', 'answered again', 'message 3']);
    expect(delays).toEqual([0, 0]);
    expect(signals).toHaveLength(3);
  });

  it('backs off while attempts fail before answering, and says why', async () => {
    const stop = new AbortController();
    const { open } = scripted(
      [
        { messages: [], then: unavailable() },
        { messages: [], then: 'end' },
        { messages: [], then: new ConnectError('boom', Code.Internal) },
        { messages: [7], then: 'end' },
        { messages: [], then: unavailable() },
      ],
      stop,
    );
    const on = recorder();
    const delays: number[] = [];
    await keepOpen(open, on, stop.signal, { silenceMs: 1000, healthyMs: 60_000, delay: (n) => (delays.push(n), 0) });
    expect(on.log).toEqual([
      'failed Unavailable',
      // Ended without a word: as good as failed.
      'failed Unavailable',
      'failed Internal',
      'answered again',
      'message 7',
      'failed Unavailable',
    ]);
    // The count starts again after an attempt that answered.
    expect(delays).toEqual([1, 2, 3, 0, 1]);
  });

  it('stops on a failure that retrying cannot cure', async () => {
    const stop = new AbortController();
    const { open, signals } = scripted([{ messages: [], then: new ConnectError('filter.min_score: above 1', Code.InvalidArgument) }], stop);
    const on = recorder();
    await keepOpen(open, on, stop.signal, { silenceMs: 1000, healthyMs: 60_000, delay: () => 0 });
    expect(on.log).toEqual(['failed InvalidArgument stopped']);
    expect(signals).toHaveLength(1);
  });

  it('gives up on a silent stream and opens another', async () => {
    const stop = new AbortController();
    const { open, signals } = scripted([{ messages: [1], then: 'hang' }], stop);
    const on = recorder();
    const delays: number[] = [];
    await keepOpen(open, on, stop.signal, { silenceMs: 30, healthyMs: 0, delay: (n) => (delays.push(n), 0) });
    expect(on.log).toEqual(['answered', 'message 1', 'failed DeadlineExceeded']);
    expect(delays).toEqual([1]);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('closes the open stream when stopped', async () => {
    const stop = new AbortController();
    const { open, signals } = scripted([{ messages: [1], then: 'hang' }], stop);
    const on = recorder();
    const done = keepOpen(open, on, stop.signal, { silenceMs: 60_000, healthyMs: 60_000, delay: () => 0 });
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await done;
    expect(on.log).toEqual(['answered', 'message 1']);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });
});
