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
  constructor(
    private readonly kv: KeyValueStore,
    private readonly captcha: CaptchaService,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  private keys(email: string | undefined, ip: string) {
    return {
      email: email === undefined ? undefined : `login:fail:email:${email}`,
      ip: `login:fail:ip:${ip}`,
      lock: email === undefined ? undefined : `login:lock:${email}`,
    };
  }

  private async lockedFor(lockKey: string | undefined): Promise<number> {
    if (!lockKey) return 0;
    const until = Number((await this.kv.get(lockKey)) ?? 0);
    return Math.max(0, until - this.clock.now());
  }

  async status(email: string | undefined, ip: string): Promise<LoginStatus> {
    const keys = this.keys(email, ip);
    const [emailFailures, ipFailures, lockedMs] = await Promise.all([
      keys.email ? this.kv.get(keys.email) : null,
      this.kv.get(keys.ip),
      this.lockedFor(keys.lock),
    ]);
    // While locked the stored count already stands at LOGIN_LOCK_AFTER - 1 (see lock()); the user has failed LOGIN_LOCK_AFTER times.
    const emailCount = lockedMs > 0 ? Math.max(Number(emailFailures ?? 0), this.config.LOGIN_LOCK_AFTER) : Number(emailFailures ?? 0);
    const failureCount = email === undefined ? Number(ipFailures ?? 0) : emailCount;
    const worst = Math.max(Number(emailFailures ?? 0), Number(ipFailures ?? 0));
    return {
      requiresCaptcha: worst >= this.config.LOGIN_CAPTCHA_AFTER,
      isLocked: lockedMs > 0,
      failureCount,
      remainingLockTime: Math.ceil(lockedMs / 1000),
    };
  }

  /** Refuses a locked account or a missing/wrong captcha, then counts the attempt as a failure in advance. */
  async beginAttempt(email: string, ip: string, answer: CaptchaAnswer): Promise<number> {
    const keys = this.keys(email, ip);
    await this.refuseIfLocked(keys.lock!);
    const status = await this.status(email, ip);
    if (status.requiresCaptcha) {
      if (!answer.captchaSessionId || !answer.captchaCode) throw new AppError('CAPTCHA_REQUIRED', {}, { requiresCaptcha: true });
      if (!(await this.captcha.check(answer.captchaSessionId, answer.captchaCode, { consume: true }))) {
        throw new AppError('CAPTCHA_INVALID', {}, { requiresCaptcha: true });
      }
    }
    const windowMs = this.config.LOGIN_FAILURE_WINDOW * 1000;
    const [attempt] = await Promise.all([this.kv.increment(keys.email!, windowMs), this.kv.increment(keys.ip, windowMs)]);
    // Parallel guesses beyond the limit are refused without touching the password.
    if (attempt > this.config.LOGIN_LOCK_AFTER) await this.lock(email);
    // Checked again after counting: a parallel attempt may have locked the account (and restarted the
    // count) since the first check, and a locked account must not get its password checked.
    await this.refuseIfLocked(keys.lock!);
    return attempt;
  }

  /** The attempt failed; at the limit the account locks and this answer already says so. */
  async failed(email: string, attempt: number): Promise<never> {
    if (attempt >= this.config.LOGIN_LOCK_AFTER) {
      await this.lock(email);
      await this.refuseIfLocked(this.keys(email, '').lock!);
    }
    throw new AppError('INVALID_CREDENTIALS');
  }

  async succeeded(email: string, ip: string): Promise<void> {
    const keys = this.keys(email, ip);
    await this.kv.del(keys.email!, keys.ip);
  }

  /** After a password reset the owner has proven control of the email: clear the lock and count. */
  async clear(email: string): Promise<void> {
    const keys = this.keys(email, '');
    await this.kv.del(keys.email!, keys.lock!);
  }

  /**
   * Locks the account unless it is locked already. The count restarts just below the limit, so after
   * the lock ends a captcha is still required and the next failure locks again.
   */
  private async lock(email: string): Promise<void> {
    const keys = this.keys(email, '');
    if ((await this.lockedFor(keys.lock)) > 0) return;
    const ms = this.config.LOGIN_LOCK_MINUTES * 60_000;
    await this.kv.set(keys.lock!, String(this.clock.now() + ms), ms);
    await this.kv.set(keys.email!, String(this.config.LOGIN_LOCK_AFTER - 1), this.config.LOGIN_FAILURE_WINDOW * 1000);
  }

  private async refuseIfLocked(lockKey: string): Promise<void> {
    const remaining = await this.lockedFor(lockKey);
    if (remaining > 0) {
      const minutes = Math.max(1, Math.ceil(remaining / 60_000));
      throw new AppError('ACCOUNT_LOCKED', { minutes }, { remainingLockTime: Math.ceil(remaining / 1000) }, Math.ceil(remaining / 1000));
    }
  }
}
