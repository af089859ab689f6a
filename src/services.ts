import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { SecretBox } from '#core/crypto.ts';
import { GroupCommit } from '#core/db/group-commit.ts';
import type { Database } from '#core/db/create-db.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { InvalidationBus } from '#core/invalidation.ts';
import type { Mailer } from '#core/mailer.ts';
import { AdminKeyGuard } from '#modules/admin/admin-key.ts';
import { AuditRepository } from '#modules/admin/audit.repository.ts';
import { AuditService } from '#modules/admin/audit.service.ts';
import { UserAdminService } from '#modules/admin/user-admin.service.ts';
import { AuthService } from '#modules/auth/auth.service.ts';
import { EmailCodeService } from '#modules/auth/email-code.service.ts';
import { LoginGuard } from '#modules/auth/login-guard.ts';
import { SessionsRepository } from '#modules/auth/sessions.repository.ts';
import { TokenService } from '#modules/auth/token.service.ts';
import { CaptchaService } from '#modules/captcha/captcha.service.ts';
import { ChannelsRepository } from '#modules/channels/channels.repository.ts';
import { ChannelsService } from '#modules/channels/channels.service.ts';
import { CheckinRepository } from '#modules/checkin/checkin.repository.ts';
import { parseMilestones } from '#modules/checkin/checkin.rules.ts';
import { CheckinService } from '#modules/checkin/checkin.service.ts';
import { CreditsRepository } from '#modules/credits/credits.repository.ts';
import { CreditsService } from '#modules/credits/credits.service.ts';
import { SignupBonus } from '#modules/credits/signup-bonus.ts';
import type { DifyPrices } from '#modules/channels/dify-app.ts';
import { DifyRepository } from '#modules/dify/dify.repository.ts';
import { DifyService } from '#modules/dify/dify.service.ts';
import type { OpenAiDeps } from '#modules/metering/adapters/openai.ts';
import { MoneyWriter } from '#modules/metering/money-writes.ts';
import { KeysRepository } from '#modules/keys/keys.repository.ts';
import { KeysService } from '#modules/keys/keys.service.ts';
import { OrdersRepository } from '#modules/orders/orders.repository.ts';
import { parseCreditPacks } from '#modules/orders/orders.packs.ts';
import { OrdersService } from '#modules/orders/orders.service.ts';
import { OrderReconciler } from '#modules/orders/orders.reconcile.ts';
import type { PaymentProvider } from '#modules/payments/payment-provider.ts';
import { PaymentsRegistry } from '#modules/payments/payments.registry.ts';
import { PlansRepository } from '#modules/plans/plans.repository.ts';
import { PlansService } from '#modules/plans/plans.service.ts';
import { PricingRepository } from '#modules/pricing/pricing.repository.ts';
import { PricingService } from '#modules/pricing/pricing.service.ts';
import { RateLimiter } from '#modules/ratelimit/rate-limiter.ts';
import { RedeemRepository } from '#modules/redeem/redeem.repository.ts';
import { RedeemService } from '#modules/redeem/redeem.service.ts';
import { CallsInFlight } from '#modules/metering/calls-in-flight.ts';
import { UsageRepository } from '#modules/usage/usage.repository.ts';
import { UsageService } from '#modules/usage/usage.service.ts';
import { UsersRepository } from '#modules/users/users.repository.ts';
import { UsersService } from '#modules/users/users.service.ts';
import { AccountIdentities } from '#modules/users/identities.service.ts';
import { EmailLinking } from '#modules/auth/email-link.service.ts';
import { createWeChat } from '#modules/wechat/wechat.factory.ts';
import { TemplatesRepository } from '#modules/templates/templates.repository.ts';
import { TemplatesService } from '#modules/templates/templates.service.ts';
import { CharactersRepository } from '#modules/characters/characters.repository.ts';
import { CharactersService } from '#modules/characters/characters.service.ts';
import { createStorageDriver, publicBaseOf } from '#modules/storage/storage.factory.ts';
import { StorageRepository } from '#modules/storage/storage.repository.ts';
import { StorageService } from '#modules/storage/storage.service.ts';
import { GalleryRepository } from '#modules/gallery/gallery.repository.ts';
import { GalleryService } from '#modules/gallery/gallery.service.ts';
import { FavoritesRepository } from '#modules/favorites/favorites.repository.ts';
import { FavoritesService } from '#modules/favorites/favorites.service.ts';
import { createImageJobs } from '#modules/image-jobs/image-jobs.factory.ts';
import { StatsService } from '#modules/stats/stats.service.ts';

export interface Infrastructure {
  config: Config;
  database: Database;
  kv: KeyValueStore;
  bus: InvalidationBus;
  mailer: Mailer;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** Payment providers to use instead of those the configuration builds (tests). */
  paymentProviders?: readonly PaymentProvider[] | undefined;
}

export type Services = ReturnType<typeof createServices>;

/** The composition root: every repository and service, wired once. Modules reach each other only through these. */
export function createServices(infra: Infrastructure) {
  const { config, database, kv, bus, mailer, clock, logger } = infra;
  const db = database.db;

  const usersRepository = new UsersRepository(db);
  const users = new UsersService(db, usersRepository, bus, clock);
  const identities = new AccountIdentities(usersRepository, clock);
  const credits = new CreditsService(db, new CreditsRepository(db, database.capabilities), clock, {
    holdTtlMs: config.CREDIT_HOLD_TTL * 1000,
  });
  const signupBonus = new SignupBonus(credits, kv, clock, {
    amount: config.SIGNUP_BONUS,
    perIpDaily: config.SIGNUP_BONUS_PER_IP_DAILY,
  });
  const tokens = new TokenService(new SessionsRepository(db), config, clock);
  const captcha = new CaptchaService(kv, config, clock);
  const codes = new EmailCodeService(kv, mailer, config, clock, logger);
  const auth = new AuthService(users, tokens, codes, new LoginGuard(kv, captcha, config, clock), (ip) =>
    signupBonus.forAccountFrom(ip),
  );
  const emailLinking = new EmailLinking(users, identities, codes);
  const wechat = createWeChat(config, {
    users,
    identities,
    tokens,
    kv,
    logger,
    onSignUp: (ip) => signupBonus.forAccountFrom(ip),
  });
  const checkin = new CheckinService(db, new CheckinRepository(db), credits, clock, {
    timeZone: config.CHECKIN_TZ,
    rules: {
      base: config.CHECKIN_BASE,
      streakStep: config.CHECKIN_STREAK_STEP,
      streakCap: config.CHECKIN_STREAK_CAP,
      milestones: parseMilestones(config.CHECKIN_MILESTONES),
    },
  });
  const box = new SecretBox(config.masterKey);
  const plans = new PlansService(db, new PlansRepository(db), credits, bus, clock, { kv, timeZone: config.CHECKIN_TZ });
  const redeem = new RedeemService(
    db,
    new RedeemRepository(db),
    credits,
    kv,
    box,
    clock,
    {
      maxFailuresPerUser: config.REDEEM_MAX_FAILURES_PER_USER,
      maxFailuresPerIp: config.REDEEM_MAX_FAILURES_PER_IP,
      windowMs: config.REDEEM_FAILURE_WINDOW * 1000,
    },
    plans,
  );

  const payments = infra.paymentProviders
    ? new PaymentsRegistry(infra.paymentProviders)
    : PaymentsRegistry.fromConfig(config, { logger, clock, kv });
  const orders = new OrdersService(db, new OrdersRepository(db), plans, credits, users, payments, clock, logger, {
    expireMinutes: config.ORDER_EXPIRE_MINUTES,
    queryAfterSeconds: config.ORDER_QUERY_AFTER,
    reconcileIntervalSeconds: config.ORDER_RECONCILE_INTERVAL,
    maxPendingPerUser: config.ORDER_MAX_PENDING_PER_USER,
    packs: parseCreditPacks(config.CREDIT_PACKS),
    recharge: {
      creditsPerCny: config.RECHARGE_CREDITS_PER_CNY,
      minFen: config.RECHARGE_MIN_FEN,
      maxFen: config.RECHARGE_MAX_FEN,
    },
  });
  const reconciler = new OrderReconciler(orders.repository, orders, payments, clock, logger, {
    queryAfterMs: config.ORDER_QUERY_AFTER * 1000,
    intervalMs: config.ORDER_RECONCILE_INTERVAL * 1000,
  });

  const keys = new KeysService(new KeysRepository(db), bus, clock, {
    store: kv,
    limits: { maxFailuresPerIp: config.API_KEY_GUESS_MAX_PER_IP, windowMs: config.API_KEY_GUESS_WINDOW * 1000 },
  });
  const pricing = new PricingService(new PricingRepository(db), bus, clock, {
    creditsPerUsd: config.CREDITS_PER_USD,
    multiplierPermille: {
      user: Math.round(config.PRICE_MULTIPLIER_USER * 1000),
      admin: Math.round(config.PRICE_MULTIPLIER_ADMIN * 1000),
    },
  });
  const channels = new ChannelsService(new ChannelsRepository(db), box, bus, clock, {
    failureThreshold: config.CHANNEL_FAILURE_THRESHOLD,
    difyMaxCallCost: config.DIFY_MAX_CALL_COST,
  });
  const usage = new UsageService(new UsageRepository(db, database.capabilities), clock, {
    timeZone: config.CHECKIN_TZ,
    retentionDays: config.USAGE_RETENTION_DAYS,
  });
  const limiter = new RateLimiter(kv, clock, {
    slotMaxAgeMs: config.CREDIT_HOLD_TTL * 1000,
    timeZone: config.CHECKIN_TZ,
  });
  const group = new GroupCommit(db, { relaxedDb: database.relaxed });
  const money = new MoneyWriter({
    group,
    opening: database.capabilities.holdsCommitApart ? new GroupCommit(db, { relaxedDb: database.relaxed }) : group,
    dialect: database.capabilities,
    credits,
    keys,
    usage,
  });
  const gateway: OpenAiDeps = {
    inFlight: new CallsInFlight(),
    money,
    credits,
    keys,
    pricing,
    clock,
    channels,
    limiter,
    plans,
    roleLimits: {
      user: {
        rpm: config.RATE_LIMIT_USER_RPM,
        tpm: config.RATE_LIMIT_USER_TPM,
        concurrency: config.RATE_LIMIT_USER_CONCURRENCY,
        rpd: config.RATE_LIMIT_USER_RPD,
      },
      admin: {
        rpm: config.RATE_LIMIT_ADMIN_RPM,
        tpm: config.RATE_LIMIT_ADMIN_TPM,
        concurrency: config.RATE_LIMIT_ADMIN_CONCURRENCY,
        rpd: config.RATE_LIMIT_ADMIN_RPD,
      },
    },
    failover: {
      maxAttempts: config.UPSTREAM_MAX_ATTEMPTS,
      timeouts: { headersMs: config.UPSTREAM_HEADERS_TIMEOUT * 1000, bodyMs: config.UPSTREAM_BODY_TIMEOUT * 1000 },
    },
    defaultMaxOutput: config.DEFAULT_MAX_OUTPUT_TOKENS,
  };

  const difyDefaults: DifyPrices = {
    input: config.DIFY_PRICE_INPUT,
    output: config.DIFY_PRICE_OUTPUT,
    endpoints: {
      'chat-messages': config.DIFY_PRICE_PER_CALL,
      'completion-messages': config.DIFY_PRICE_PER_CALL,
      'workflows/run': config.DIFY_PRICE_PER_CALL,
      'audio-to-text': config.DIFY_PRICE_PER_CALL,
      'text-to-audio': config.DIFY_PRICE_PER_CALL,
      suggested: 0,
      'files/upload': 0,
    },
    maxCallCost: config.DIFY_MAX_CALL_COST,
  };
  const audit = new AuditService(new AuditRepository(db), clock);
  const adminKey = new AdminKeyGuard(config.adminApiKey, kv, clock, {
    maxFailuresPerIp: config.ADMIN_KEY_MAX_FAILURES_PER_IP,
    windowMs: config.ADMIN_KEY_FAILURE_WINDOW * 1000,
  });
  const userAdmin = new UserAdminService({
    users,
    tokens,
    keys,
    credits,
    usage,
    plans,
    orders,
    clock,
    timeZone: config.CHECKIN_TZ,
  });
  const templates = new TemplatesService(new TemplatesRepository(db, database.capabilities), clock);
  const storage = new StorageService(
    createStorageDriver(config),
    new StorageRepository(db),
    clock,
    { maxBytes: config.UPLOAD_MAX_BYTES, maxPixels: config.UPLOAD_MAX_PIXELS },
    publicBaseOf(config),
    logger,
  );
  const characters = new CharactersService(
    db,
    new CharactersRepository(db),
    storage,
    clock,
    config.CHARACTER_MAX_PHOTOS,
  );
  const gallery = new GalleryService(new GalleryRepository(db, database.capabilities), storage, clock);
  const favorites = new FavoritesService(new FavoritesRepository(db), gallery, templates, clock);
  const imageJobs = createImageJobs(config, {
    database,
    admission: gateway,
    pricing,
    templates,
    characters,
    storage,
    clock,
    logger,
  });
  const dify = new DifyService(new DifyRepository(db), channels, kv, clock, gateway.failover.timeouts);
  const stats = new StatsService({
    users,
    orders,
    favorites,
    credits,
    imageJobs: imageJobs.service,
    gallery,
    clock,
  });

  return {
    database,
    kv,
    bus,
    clock,
    users,
    identities,
    auth,
    emailLinking,
    wechat,
    tokens,
    captcha,
    credits,
    checkin,
    redeem,
    plans,
    payments,
    orders,
    reconciler,
    keys,
    pricing,
    channels,
    usage,
    limiter,
    gateway,
    dify,
    difyDefaults,
    audit,
    adminKey,
    userAdmin,
    templates,
    storage,
    characters,
    gallery,
    favorites,
    imageJobs: imageJobs.service,
    jobSettler: imageJobs.settler,
    stats,
  };
}
