import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { safeEqual } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import type { Lang } from '#core/i18n.ts';
import type { KeyValueStore } from '#core/kv.ts';
import { MailError, type Mailer } from '#core/mailer.ts';
import { codeEmail, type CodePurpose } from './auth.mail.ts';
import { newEmailCode } from './email-code.format.ts';

interface StoredCode {
  code: string;
  purpose: CodePurpose;
  expiresAt: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Six-digit email codes: one live code per email (a new one voids the old), single use, limited
 * wrong guesses, a resend cooldown and daily caps per email and per IP against mail bombing.
 */
export class EmailCodeService {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly mailer: Mailer,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async send(email: string, purpose: CodePurpose, ip: string, lang: Lang): Promise<void> {
    const cooldown = await this.startCooldown(email);
    let refundQuota: () => Promise<void>;
    try {
      refundQuota = await this.spendDailyQuota(email, ip);
    } catch (error) {
      await this.endCooldown(email, cooldown);
      throw error;
    }

    const stored: StoredCode = {
      code: newEmailCode(),
      purpose,
      expiresAt: this.clock.now() + this.config.EMAIL_CODE_TTL * 1000,
    };
    const value = JSON.stringify(stored);
    const codeKey = `mail:code:${email}`;
    await this.kv.set(codeKey, value, this.config.EMAIL_CODE_TTL * 1000);
    await this.kv.del(`mail:attempts:${email}`);
    try {
      await this.mailer.send(codeEmail(lang, purpose, email, stored.code, Math.round(this.config.EMAIL_CODE_TTL / 60)));
    } catch (error) {
      if (!(error instanceof MailError)) throw error;
      this.logger.warn({ err: error, transport: this.mailer.transport }, 'verification email not sent');
      // Nothing is left behind: the code is void, no mail was sent, and the user may try again at once.
      await this.kv.deleteIfEquals(codeKey, value);
      await this.endCooldown(email, cooldown);
      await refundQuota();
      throw new AppError('MAIL_UNAVAILABLE');
    }
  }

  /**
   * Claims the resend cooldown or throws EMAIL_CODE_COOLDOWN. The deadline is stored in the value and
   * read against the injectable clock (the store's TTL only bounds memory). Returns the claimed value.
   */
  private async startCooldown(email: string): Promise<string | undefined> {
    const cooldownMs = this.config.EMAIL_CODE_COOLDOWN * 1000;
    if (cooldownMs === 0) return undefined;
    const key = `mail:cooldown:${email}`;
    const now = this.clock.now();
    const mine = String(now + cooldownMs);
    if (await this.kv.setIfAbsent(key, mine, cooldownMs)) return mine;
    const current = await this.kv.get(key);
    const until = Number(current ?? 0);
    if (until > now) {
      const seconds = Math.ceil((until - now) / 1000);
      throw new AppError('EMAIL_CODE_COOLDOWN', { seconds }, {}, seconds);
    }
    // The last cooldown is over by the clock: take its place, unless a racing request just did.
    if (current !== null) await this.kv.deleteIfEquals(key, current);
    if (await this.kv.setIfAbsent(key, mine, cooldownMs)) return mine;
    const seconds = this.config.EMAIL_CODE_COOLDOWN;
    throw new AppError('EMAIL_CODE_COOLDOWN', { seconds }, {}, seconds);
  }

  private async endCooldown(email: string, claimed: string | undefined): Promise<void> {
    if (claimed !== undefined) await this.kv.deleteIfEquals(`mail:cooldown:${email}`, claimed);
  }

  /**
   * Counts one email against the daily caps of the inbox and of the IP, both or neither (one atomic
   * step): a refused send spends nothing. Returns the refund for a send that fails later.
   */
  private async spendDailyQuota(email: string, ip: string): Promise<() => Promise<void>> {
    const now = this.clock.now();
    const day = new Date(now).toISOString().slice(0, 10);
    const ttlMs = DAY_MS + 3600_000;
    const emailKey = `mail:day:${day}:email:${email}`;
    const ipKey = `mail:day:${day}:ip:${ip}`;
    const taking = await this.kv.takeAll(
      [
        { kind: 'counter', key: emailKey, amount: 1, limit: this.config.EMAIL_DAILY_CAP_PER_EMAIL, ttlMs },
        { kind: 'counter', key: ipKey, amount: 1, limit: this.config.EMAIL_DAILY_CAP_PER_IP, ttlMs },
      ],
      now,
    );
    if (taking.refused !== -1) throw new AppError('EMAIL_DAILY_LIMIT', {}, {}, secondsUntilUtcMidnight(now));
    return async () => {
      await Promise.all([this.kv.increment(ipKey, ttlMs, -1), this.kv.increment(emailKey, ttlMs, -1)]);
    };
  }

  /** Uses up the code or throws EMAIL_CODE_INVALID. Exactly one of any number of racing callers wins. */
  async consume(email: string, purpose: CodePurpose, code: string): Promise<void> {
    const codeKey = `mail:code:${email}`;
    const attemptsKey = `mail:attempts:${email}`;
    const value = await this.kv.get(codeKey);
    if (!value) throw new AppError('EMAIL_CODE_INVALID');
    const stored = JSON.parse(value) as StoredCode;
    if (stored.purpose !== purpose || stored.expiresAt <= this.clock.now()) throw new AppError('EMAIL_CODE_INVALID');
    if (!safeEqual(stored.code, code)) {
      const attempts = await this.kv.increment(attemptsKey, this.config.EMAIL_CODE_TTL * 1000);
      if (attempts >= this.config.EMAIL_CODE_MAX_ATTEMPTS) await this.kv.deleteIfEquals(codeKey, value);
      throw new AppError('EMAIL_CODE_INVALID');
    }
    if (!(await this.kv.deleteIfEquals(codeKey, value))) throw new AppError('EMAIL_CODE_INVALID');
    await this.kv.del(attemptsKey);
  }
}

function secondsUntilUtcMidnight(now: number): number {
  return Math.ceil((DAY_MS - (now % DAY_MS)) / 1000);
}
