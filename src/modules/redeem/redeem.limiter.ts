import { AttemptLimiter, type Attempt, type AttemptRule } from '#core/attempts.ts';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';

export interface RedeemLimits {
  maxFailuresPerUser: number;
  maxFailuresPerIp: number;
  windowMs: number;
}

/**
 * Failed redeem attempts, counted per user and per IP against guessing. An attempt is counted
 * before the code is looked at, so parallel guesses cannot slip past the limit; a success (or a
 * server error) gives its count back. The failure that reaches a limit locks that user or IP for
 * the window, and the count starts afresh when the lock ends.
 */
export class RedeemLimiter {
  private readonly attempts: AttemptLimiter;
  private readonly perUser: AttemptRule;
  private readonly perIp: AttemptRule;

  constructor(
    kv: KeyValueStore,
    clock: Clock,
    private readonly limits: RedeemLimits,
  ) {
    this.attempts = new AttemptLimiter(kv, clock);
    const { windowMs } = limits;
    this.perUser = {
      name: 'redeem:user',
      windowMs,
      lock: { after: limits.maxFailuresPerUser, ms: windowMs, countAfter: 0 },
    };
    this.perIp = { name: 'redeem:ip', windowMs, lock: { after: limits.maxFailuresPerIp, ms: windowMs, countAfter: 0 } };
  }

  /** Refuses a locked user or IP (429 with Retry-After); otherwise counts the attempt in advance. */
  async begin(userId: string, ip: string): Promise<Attempt> {
    const admission = await this.attempts.begin([
      { rule: this.perUser, id: userId },
      { rule: this.perIp, id: ip },
    ]);
    // Not locked but full: attempts still in flight fill the limit, and may lock it for the window.
    if (!admission.admitted) throw tooMany(admission.lockedMs || this.limits.windowMs);
    return admission.attempt;
  }

  /** The code was redeemed (or the server failed): the attempt was no guess. */
  giveBack(attempt: Attempt): Promise<void> {
    return this.attempts.giveBack(attempt);
  }

  /** The attempt failed; a user or IP whose limit it reached is locked for the window. */
  async failed(attempt: Attempt): Promise<void> {
    await this.attempts.failed(attempt);
  }
}

function tooMany(ms: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  return new AppError('REDEEM_TOO_MANY_ATTEMPTS', { minutes: Math.max(1, Math.ceil(retryAfter / 60)) }, {}, retryAfter);
}
