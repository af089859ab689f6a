/**
 * The one way to try something again. Every loop that repeats a failed step (a transaction the
 * database aborted for a deadlock, SQLite's busy write lock, a call's closing write while the
 * database is away) says only what is worth another try and how long to pause.
 */
export interface RetryPolicy {
  /** Whether `error` (thrown by try number `attempt`, from 1) is worth another try. */
  retryable(error: unknown, attempt: number): boolean;
  /** Milliseconds to wait before try number `attempt + 1`. */
  pause(attempt: number): number;
  /** Most tries in all (default: no limit but `withinMs`). */
  attempts?: number;
  /** No try starts later than this many milliseconds after the first (default: no limit but `attempts`). */
  withinMs?: number;
}

/** Runs `work` until it succeeds, or throws what its last try threw once `policy` says to stop. */
export async function retry<T>(work: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const deadline = policy.withinMs === undefined ? Infinity : performance.now() + policy.withinMs;
  const attempts = policy.attempts ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const pause = attempt < attempts && policy.retryable(error, attempt) ? policy.pause(attempt) : Infinity;
      if (performance.now() + pause > deadline || pause === Infinity) throw error;
      await sleep(pause);
    }
  }
}

/** Pauses that double from `first` milliseconds up to `max`. */
export function doubling(first: number, max: number): (attempt: number) => number {
  return (attempt) => Math.min(first * 2 ** (attempt - 1), max);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
