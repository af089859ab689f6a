import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { SecretBox } from '#core/crypto.ts';
import type { Database } from '#core/db/create-db.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { Mailer } from '#core/mailer.ts';
import { AuthService } from '#modules/auth/auth.service.ts';
import { EmailCodeService } from '#modules/auth/email-code.service.ts';
import { LoginGuard } from '#modules/auth/login-guard.ts';
import { SessionsRepository } from '#modules/auth/sessions.repository.ts';
import { TokenService } from '#modules/auth/token.service.ts';
import { CaptchaService } from '#modules/captcha/captcha.service.ts';
import { CheckinRepository } from '#modules/checkin/checkin.repository.ts';
import { parseMilestones } from '#modules/checkin/checkin.rules.ts';
import { CheckinService } from '#modules/checkin/checkin.service.ts';
import { CreditsRepository } from '#modules/credits/credits.repository.ts';
import { CreditsService } from '#modules/credits/credits.service.ts';
import { SignupBonus } from '#modules/credits/signup-bonus.ts';
import { RedeemRepository } from '#modules/redeem/redeem.repository.ts';
import { RedeemService } from '#modules/redeem/redeem.service.ts';
import { UsersRepository } from '#modules/users/users.repository.ts';
import { UsersService } from '#modules/users/users.service.ts';

export interface Infrastructure {
  config: Config;
  database: Database;
  kv: KeyValueStore;
  mailer: Mailer;
  clock: Clock;
  logger: FastifyBaseLogger;
}

export type Services = ReturnType<typeof createServices>;

/** The composition root: every repository and service, wired once. Modules reach each other only through these. */
export function createServices(infra: Infrastructure) {
  const { config, database, kv, mailer, clock, logger } = infra;
  const db = database.db;

  const users = new UsersService(db, new UsersRepository(db), clock);
  const credits = new CreditsService(db, new CreditsRepository(db), clock, { holdTtlMs: config.CREDIT_HOLD_TTL * 1000 });
  const signupBonus = new SignupBonus(credits, kv, clock, { amount: config.SIGNUP_BONUS, perIpDaily: config.SIGNUP_BONUS_PER_IP_DAILY });
  const tokens = new TokenService(new SessionsRepository(db), config, clock);
  const captcha = new CaptchaService(kv, config, clock);
  const codes = new EmailCodeService(kv, mailer, config, clock, logger);
  const auth = new AuthService(users, tokens, codes, new LoginGuard(kv, captcha, config, clock), (ip) => signupBonus.forAccountFrom(ip));
  const checkin = new CheckinService(db, new CheckinRepository(db), credits, clock, {
    timeZone: config.CHECKIN_TZ,
    rules: {
      base: config.CHECKIN_BASE,
      streakStep: config.CHECKIN_STREAK_STEP,
      streakCap: config.CHECKIN_STREAK_CAP,
      milestones: parseMilestones(config.CHECKIN_MILESTONES),
    },
  });
  const redeem = new RedeemService(db, new RedeemRepository(db), credits, kv, new SecretBox(config.masterKey), clock, {
    maxFailuresPerUser: config.REDEEM_MAX_FAILURES_PER_USER,
    maxFailuresPerIp: config.REDEEM_MAX_FAILURES_PER_IP,
    windowMs: config.REDEEM_FAILURE_WINDOW * 1000,
  });

  return { database, kv, clock, users, auth, tokens, captcha, credits, checkin, redeem };
}
