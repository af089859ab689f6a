import { AttemptLimiter, type AttemptRule, type Subject } from '#core/attempts.ts';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';

export interface GuessLimits {
  /** Unknown keys one client IP may present within `windowMs`; the one that reaches it locks the IP. */
  maxFailuresPerIp: number;
  /** How long a failure is remembered (each new one starts it again), and how long a lock lasts. */
  windowMs: number;
}

export const DEFAULT_GUESS_LIMITS: GuessLimits = { maxFailuresPerIp: 30, windowMs: 10 * 60_000 };

/**
 * Unknown API keys, counted per client IP: past the limit the IP's unknown keys are refused 429 for the
 * window. Only misses come here, after the key was looked up: a real key is never refused, and never
 * lowers the count, however many wrong keys its IP presented (one misconfigured script behind a NAT does
 * not lock the colleagues out). A miss is counted and checked against the limit in one atomic step, so
 * parallel guesses cannot get more "unknown key" answers than the limit.
 */
export class KeyGuessGuard {
  private readonly attempts: AttemptLimiter;
  private readonly perIp: AttemptRule;

  constructor(
    store: KeyValueStore,
    clock: Clock,
    private readonly limits: GuessLimits,
  ) {
    this.attempts = new AttemptLimiter(store, clock);
    this.perIp = {
      name: 'apikey:ip',
      windowMs: limits.windowMs,
      lock: { after: limits.maxFailuresPerIp, ms: limits.windowMs, countAfter: 0 },
    };
  }

  /** Counts an unknown key from `ip` (the one that reaches the limit locks it); API_KEY_GUESSING (with Retry-After) when the IP is locked or its limit is full. */
  async miss(ip: string): Promise<void> {
    const subjects: Subject[] = [{ rule: this.perIp, id: ip }];
    const admission = await this.attempts.begin(subjects);
    if (admission.admitted) {
      await this.attempts.failed(admission.attempt);
      return;
    }
    const seconds = Math.max(1, Math.ceil((admission.lockedMs || this.limits.windowMs) / 1000));
    throw new AppError('API_KEY_GUESSING', { seconds }, {}, seconds);
  }
}
