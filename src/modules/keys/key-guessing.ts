import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';

export interface GuessLimits {
  /** Unknown keys one client IP may present within `windowMs` before it is refused. */
  maxFailuresPerIp: number;
  /** How long a failure is remembered; every new attempt from a refused IP starts it again. */
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
  constructor(
    private readonly store: KeyValueStore,
    private readonly limits: GuessLimits,
  ) {}

  /** Counts one attempt from `ip`; API_KEY_GUESSING (with Retry-After) when the IP is over its limit. */
  async begin(ip: string): Promise<void> {
    const key = counterOf(ip);
    const attempts = await this.store.increment(key, this.limits.windowMs);
    if (attempts > this.limits.maxFailuresPerIp) {
      const seconds = Math.max(1, Math.ceil((await this.store.ttl(key)) / 1000));
      throw new AppError('API_KEY_GUESSING', { seconds }, {}, seconds);
    }
  }

  /** The key existed: the attempt was no guess. */
  async giveBack(ip: string): Promise<void> {
    await this.store.increment(counterOf(ip), this.limits.windowMs, -1);
  }
}

const counterOf = (ip: string) => `apikey:fail:ip:${ip}`;
