import { createHash, timingSafeEqual } from 'node:crypto';
import { AttemptLimiter, type AttemptRule, type Subject } from '#core/attempts.ts';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { Principal } from '#core/http/route-config.ts';
import type { KeyValueStore } from '#core/kv.ts';

export interface AdminKeyLimits {
  /** Wrong keys one client IP may present within `windowMs`; the one that reaches it locks the IP for the window. */
  maxFailuresPerIp: number;
  windowMs: number;
}

/** The principal of a request made with the admin key: an admin, but nobody's account and no session. */
export const ADMIN_KEY_PRINCIPAL: Readonly<Principal> = Object.freeze({
  userId: '',
  role: 'admin',
  sessionId: '',
  via: 'adminkey',
});

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `X-Admin-Key` (seed 003's admin authentication, ADMIN_API_KEY): checked on admin routes only
 * (auth.guard.ts). Both sides are hashed before the constant-time comparison, so neither the time
 * taken nor a length mismatch says anything about the key. Every attempt is counted per client IP
 * before it is compared (core/attempts.ts, shared by every instance through Redis): a right key gives
 * its count back, a wrong one keeps it, and an IP past the limit is refused 429 for the window,
 * whatever key it sends, so the key cannot be guessed faster by spreading guesses over instances.
 */
export class AdminKeyGuard {
  private readonly expected: Buffer | undefined;
  private readonly attempts: AttemptLimiter;
  private readonly perIp: AttemptRule;

  constructor(
    key: string | undefined,
    store: KeyValueStore,
    clock: Clock,
    private readonly limits: AdminKeyLimits,
  ) {
    this.expected = key === undefined ? undefined : digest(key);
    this.attempts = new AttemptLimiter(store, clock);
    this.perIp = {
      name: 'adminkey:ip',
      windowMs: limits.windowMs,
      lock: { after: limits.maxFailuresPerIp, ms: limits.windowMs, countAfter: 0 },
    };
  }

  get enabled(): boolean {
    return this.expected !== undefined;
  }

  /**
   * The admin principal for the right key; ADMIN_KEY_NOT_ENABLED (403) when no key is configured,
   * ADMIN_KEY_INVALID (401) for a wrong one, ADMIN_KEY_GUESSING (429, Retry-After) from a locked IP.
   */
  async authenticate(presented: string, ip: string): Promise<Principal> {
    if (!this.expected) throw new AppError('ADMIN_KEY_NOT_ENABLED');
    const subjects: Subject[] = [{ rule: this.perIp, id: ip }];
    const admission = await this.attempts.begin(subjects);
    if (!admission.admitted) {
      const seconds = Math.max(1, Math.ceil((admission.lockedMs || this.limits.windowMs) / 1000));
      throw new AppError('ADMIN_KEY_GUESSING', { seconds }, {}, seconds);
    }
    if (timingSafeEqual(digest(presented), this.expected)) {
      await this.attempts.giveBack(admission.attempt);
      return { ...ADMIN_KEY_PRINCIPAL };
    }
    await this.attempts.failed(admission.attempt);
    throw new AppError('ADMIN_KEY_INVALID');
  }
}
