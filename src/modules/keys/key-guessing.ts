import { AttemptLimiter, type Attempt, type AttemptRule, type Subject } from '#core/attempts.ts';
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
 * Unknown API keys, counted per client IP. A key cannot realistically be guessed (192 random bits),
 * but every made-up key still costs a database lookup, so an IP that presents too many is refused
 * (429) before the lookup. Only calls whose key is not already cached as valid come here: the hot path
 * of a working key never touches the counter. An attempt is counted before the lookup, so parallel
 * guesses cannot slip past the limit, and given back when the key turns out to exist.
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
    this.perIp = { name: 'apikey:ip', windowMs: limits.windowMs, lock: { after: limits.maxFailuresPerIp, ms: limits.windowMs, countAfter: 0 } };
  }

  /** Who a call's attempt is counted against: its client IP. */
  private subjects(ip: string): Subject[] {
    return [{ rule: this.perIp, id: ip }];
  }

  /** Counts one attempt from `ip`; API_KEY_GUESSING (with Retry-After) when the IP is locked or its limit is full. */
  async begin(ip: string): Promise<Attempt> {
    const admission = await this.attempts.begin(this.subjects(ip));
    if (admission.admitted) return admission.attempt;
    const seconds = Math.max(1, Math.ceil((admission.lockedMs || this.limits.windowMs) / 1000));
    throw new AppError('API_KEY_GUESSING', { seconds }, {}, seconds);
  }

  /** The key existed (or the lookup failed): the attempt was no guess. */
  giveBack(attempt: Attempt): Promise<void> {
    return this.attempts.giveBack(attempt);
  }

  /** The key does not exist; the failure that reaches the limit locks the IP for the window. */
  async failed(attempt: Attempt): Promise<void> {
    await this.attempts.failed(attempt);
  }
}
