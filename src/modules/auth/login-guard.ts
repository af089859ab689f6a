import { AttemptLimiter, type AttemptRule, type Subject } from '#core/attempts.ts';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { CaptchaService } from '#modules/captcha/captcha.service.ts';

export interface LoginStatus {
  requiresCaptcha: boolean;
  isLocked: boolean;
  failureCount: number;
  /** Seconds. */
  remainingLockTime: number;
}

export interface CaptchaAnswer {
  captchaSessionId?: string | undefined;
  captchaCode?: string | undefined;
}

/**
 * Failed sign-ins, counted per email and per IP (see docs/login-security.md):
 * from LOGIN_CAPTCHA_AFTER consecutive failures on either, a captcha is required; at
 * LOGIN_LOCK_AFTER failures on an email that account is locked for LOGIN_LOCK_MINUTES.
 * An attempt is counted before the password is checked, so parallel guesses cannot slip past the lock.
 */
export class LoginGuard {
  private readonly attempts: AttemptLimiter;
  private readonly perEmail: AttemptRule;
  /** An IP is never locked (a shared NAT would lock out innocent users): its count only asks for a captcha. */
  private readonly perIp: AttemptRule;

  constructor(
    kv: KeyValueStore,
    private readonly captcha: CaptchaService,
    private readonly config: Config,
    clock: Clock,
  ) {
    this.attempts = new AttemptLimiter(kv, clock);
    const windowMs = config.LOGIN_FAILURE_WINDOW * 1000;
    // A lock leaves the count just below the limit: after it a captcha is still required and the next failure locks again.
    const lock = {
      after: config.LOGIN_LOCK_AFTER,
      ms: config.LOGIN_LOCK_MINUTES * 60_000,
      countAfter: config.LOGIN_LOCK_AFTER - 1,
    };
    this.perEmail = { name: 'login:email', windowMs, lock };
    this.perIp = { name: 'login:ip', windowMs };
  }

  private email(email: string): Subject {
    return { rule: this.perEmail, id: email };
  }

  private ip(ip: string): Subject {
    return { rule: this.perIp, id: ip };
  }

  async status(email: string | undefined, ip: string): Promise<LoginStatus> {
    const [emailFailures, ipFailures, lockedMs] = await Promise.all([
      email === undefined ? 0 : this.attempts.failures(this.email(email)),
      this.attempts.failures(this.ip(ip)),
      email === undefined ? 0 : this.attempts.lockedFor(this.email(email)),
    ]);
    // While locked the stored count stands at LOGIN_LOCK_AFTER - 1 (see the rule); the user has failed LOGIN_LOCK_AFTER times.
    const emailCount = lockedMs > 0 ? Math.max(emailFailures, this.config.LOGIN_LOCK_AFTER) : emailFailures;
    return {
      requiresCaptcha: Math.max(emailFailures, ipFailures) >= this.config.LOGIN_CAPTCHA_AFTER,
      isLocked: lockedMs > 0,
      failureCount: email === undefined ? ipFailures : emailCount,
      remainingLockTime: Math.ceil(lockedMs / 1000),
    };
  }

  /**
   * Refuses a locked account or a missing/wrong captcha, then counts the attempt as a failure in
   * advance. Returns the email's count with this attempt.
   */
  async beginAttempt(email: string, ip: string, answer: CaptchaAnswer): Promise<number> {
    const account = this.email(email);
    const lockedMs = await this.attempts.lockedFor(account);
    if (lockedMs > 0) throw locked(lockedMs);
    const status = await this.status(email, ip);
    if (status.requiresCaptcha) {
      if (!answer.captchaSessionId || !answer.captchaCode)
        throw new AppError('CAPTCHA_REQUIRED', {}, { requiresCaptcha: true });
      if (!(await this.captcha.check(answer.captchaSessionId, answer.captchaCode, { consume: true }))) {
        throw new AppError('CAPTCHA_INVALID', {}, { requiresCaptcha: true });
      }
    }
    const admission = await this.attempts.begin([account, this.ip(ip)]);
    // Refused: the account was locked meanwhile, or attempts still running fill the limit; then this
    // one locks it. Either way its password is not checked.
    if (!admission.admitted) throw locked(await this.attempts.lock(account));
    return admission.attempt.counts[0]!;
  }

  /** The attempt (the email's count `attempt`) failed; at the limit the account locks and this answer already says so. */
  async failed(email: string, attempt: number): Promise<never> {
    if (attempt >= this.config.LOGIN_LOCK_AFTER) throw locked(await this.attempts.lock(this.email(email)));
    throw new AppError('INVALID_CREDENTIALS');
  }

  async succeeded(email: string, ip: string): Promise<void> {
    await this.attempts.forgetFailures(this.email(email), this.ip(ip));
  }

  /** After a password reset the owner has proven control of the email: clear the lock and count. */
  async clear(email: string): Promise<void> {
    await Promise.all([this.attempts.forgetFailures(this.email(email)), this.attempts.unlock(this.email(email))]);
  }
}

function locked(ms: number): AppError {
  const seconds = Math.ceil(ms / 1000);
  return new AppError(
    'ACCOUNT_LOCKED',
    { minutes: Math.max(1, Math.ceil(ms / 60_000)) },
    { remainingLockTime: seconds },
    seconds,
  );
}
