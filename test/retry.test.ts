import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { doubling, retry, sleep, type RetryPolicy } from '#core/retry.ts';

class Busy extends Error {}
class Broken extends Error {}

/**
 * Work that fails with `Busy` (numbered by its try) until try `succeedsAt` (never when absent), taking
 * `takesMs` each time; records when each try began, in ms after the first.
 */
function flakyWork(options: { succeedsAt?: number; takesMs?: number } = {}) {
  const starts: number[] = [];
  const tries: number[] = [];
  let first: number | undefined;
  const work = async (attempt: number) => {
    first ??= performance.now();
    starts.push(performance.now() - first);
    tries.push(attempt);
    if (options.takesMs) await sleep(options.takesMs);
    if (attempt === options.succeedsAt) return `done at ${attempt}`;
    throw new Busy(`busy ${attempt}`);
  };
  return { work, starts, tries };
}

const onBusy = (pause: RetryPolicy['pause'], more: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retryable: (error) => error instanceof Busy,
  pause,
  ...more,
});

/** Runs the retry to its end on fake time; the outcome as a value, so a rejection is never left unhandled. */
async function settle<T>(running: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const outcome = running.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return outcome;
}

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the first success and tries no more', async () => {
    const { work, tries } = flakyWork({ succeedsAt: 3 });
    expect(
      await settle(
        retry(
          work,
          onBusy(() => 10, { attempts: 10 }),
        ),
      ),
    ).toEqual({ value: 'done at 3' });
    expect(tries).toEqual([1, 2, 3]);
  });

  it('a success at the first try does not wait at all', async () => {
    const { work, starts } = flakyWork({ succeedsAt: 1 });
    const pause = vi.fn(() => 1000);
    expect(await settle(retry(work, onBusy(pause)))).toEqual({ value: 'done at 1' });
    expect(starts).toEqual([0]);
    expect(pause).not.toHaveBeenCalled();
  });

  it('stops after `attempts` tries and throws what the last one threw', async () => {
    const { work, tries } = flakyWork();
    const { error } = await settle(
      retry(
        work,
        onBusy(() => 10, { attempts: 4 }),
      ),
    );
    expect(error).toBeInstanceOf(Busy);
    expect((error as Error).message).toBe('busy 4');
    expect(tries).toEqual([1, 2, 3, 4]);
  });

  it('stops when the next try would start more than `withinMs` after the first', async () => {
    const { work, starts } = flakyWork();
    const { error } = await settle(
      retry(
        work,
        onBusy(() => 100, { withinMs: 250 }),
      ),
    );
    expect((error as Error).message).toBe('busy 3');
    expect(starts).toEqual([0, 100, 200]);
  });

  it('a try may start exactly `withinMs` after the first, and the time the tries take counts', async () => {
    const onTime = flakyWork();
    await settle(
      retry(
        onTime.work,
        onBusy(() => 125, { withinMs: 250 }),
      ),
    );
    expect(onTime.starts).toEqual([0, 125, 250]);

    const slow = flakyWork({ takesMs: 200 });
    const { error } = await settle(
      retry(
        slow.work,
        onBusy(() => 10, { withinMs: 300 }),
      ),
    );
    expect((error as Error).message).toBe('busy 2');
    expect(slow.starts).toEqual([0, 210]);
  });

  it('the first of `attempts` and `withinMs` to run out ends it', async () => {
    const fewTries = flakyWork();
    await settle(
      retry(
        fewTries.work,
        onBusy(() => 10, { attempts: 2, withinMs: 10_000 }),
      ),
    );
    expect(fewTries.tries).toEqual([1, 2]);
    const shortTime = flakyWork();
    await settle(
      retry(
        shortTime.work,
        onBusy(() => 10, { attempts: 100, withinMs: 25 }),
      ),
    );
    expect(shortTime.tries).toEqual([1, 2, 3]);
  });

  it('rethrows an error that is not retryable at once, without pausing', async () => {
    const broken = new Broken('constraint violated');
    const retryable = vi.fn((error: unknown) => error instanceof Busy);
    const pause = vi.fn(() => 1000);
    let calls = 0;
    const running = retry(
      () => {
        calls += 1;
        return Promise.reject(calls === 1 ? new Busy('busy 1') : broken);
      },
      { retryable, pause, attempts: 5 },
    );
    const { error } = await settle(running);
    expect(error).toBe(broken);
    expect(calls).toBe(2);
    expect(retryable.mock.calls).toEqual([
      [new Busy('busy 1'), 1],
      [broken, 2],
    ]);
    expect(pause.mock.calls).toEqual([[1]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('pauses between tries as `pause` says for each try number', async () => {
    const { work, starts } = flakyWork({ succeedsAt: 5 });
    const pause = vi.fn(doubling(100, 300));
    expect(await settle(retry(work, onBusy(pause)))).toEqual({ value: 'done at 5' });
    expect(pause.mock.calls).toEqual([[1], [2], [3], [4]]);
    expect(starts).toEqual([0, 100, 300, 600, 900]);
  });

  it('does not try again before the pause is over', async () => {
    const { work, tries } = flakyWork({ succeedsAt: 2 });
    const running = retry(
      work,
      onBusy(() => 500),
    );
    await vi.advanceTimersByTimeAsync(499);
    expect(tries).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await running).toBe('done at 2');
    expect(tries).toEqual([1, 2]);
  });
});

describe('doubling', () => {
  it('doubles from the first pause and stays at the most', () => {
    const pause = doubling(50, 300);
    expect([1, 2, 3, 4, 5, 10].map(pause)).toEqual([50, 100, 200, 300, 300, 300]);
  });
});

describe('sleep', () => {
  it('waits the given time on the real clock', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
  });
});
