import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import { systemClock, type Clock } from '#core/clock.ts';
import { ConfigError, type Config } from '#core/config.ts';
import { secureDataDir } from '#core/data-dir.ts';
import { connectDatabase, type Database } from '#core/db/create-db.ts';
import { migrateToLatest } from '#core/db/migrator.ts';
import { newId } from '#core/ids.ts';
import { MemoryStore, RedisStore, type KeyValueStore } from '#core/kv.ts';
import { createMailer, type Mailer } from '#core/mailer.ts';
import { clientErrorHandler, refuseRequestsWhileClosing } from '#core/http/before-routing.ts';
import { registerDocs } from '#core/http/docs.ts';
import { frameworkErrorHandler, registerErrorHandling } from '#core/http/error-handler.ts';
import { registerGracefulClose } from '#core/http/graceful-close.ts';
import { registerJsonBodyParser } from '#core/http/json-body.ts';
import type { App } from '#core/http/route-config.ts';
import { registerSecurity } from '#core/http/security.ts';
import { validatorCompiler } from '#core/http/validation.ts';
import { registerAuditHook } from '#modules/admin/audit.ts';
import { registerAuditRoutes } from '#modules/admin/audit.routes.ts';
import { registerUserAdminRoutes } from '#modules/admin/user-admin.routes.ts';
import { registerAuthGuard } from '#modules/auth/auth.guard.ts';
import { registerAuthRoutes } from '#modules/auth/auth.routes.ts';
import { registerSessionsRoutes } from '#modules/auth/sessions.routes.ts';
import { assertStrongPassword } from '#modules/auth/password-policy.ts';
import { registerCaptchaRoutes } from '#modules/captcha/captcha.routes.ts';
import { registerHealthRoutes } from '#modules/health/health.routes.ts';
import { registerUsersRoutes } from '#modules/users/users.routes.ts';
import { registerCheckinRoutes } from '#modules/checkin/checkin.routes.ts';
import { registerCreditsRoutes } from '#modules/credits/credits.routes.ts';
import { registerRedeemRoutes } from '#modules/redeem/redeem.routes.ts';
import { registerStatsRoutes } from '#modules/stats/stats.routes.ts';
import { registerAdminOverviewRoutes } from '#modules/admin/overview.routes.ts';
import { OverviewRepository } from '#modules/admin/overview.repository.ts';
import { OverviewService } from '#modules/admin/overview.service.ts';
import { registerChannelRoutes } from '#modules/channels/channels.routes.ts';
import { registerDifyRoutes } from '#modules/dify/dify.routes.ts';
import { registerGatewayRoutes } from '#modules/gateway/gateway.routes.ts';
import { registerKeysRoutes } from '#modules/keys/keys.routes.ts';
import { registerOrdersRoutes } from '#modules/orders/orders.routes.ts';
import { registerPlansRoutes } from '#modules/plans/plans.routes.ts';
import { registerPlaygroundRoutes } from '#modules/playground/playground.routes.ts';
import { registerPricingRoutes } from '#modules/pricing/pricing.routes.ts';
import { registerUsageRoutes } from '#modules/usage/usage.routes.ts';
import { registerTemplatesRoutes } from '#modules/templates/templates.routes.ts';
import { InvalidationBus } from '#core/invalidation.ts';
import { runPeriodically } from '#core/periodic.ts';
import type { PaymentProvider } from '#modules/payments/payment-provider.ts';
import { registerStripeWebhook } from '#modules/payments/stripe/stripe.routes.ts';
import { createWeChatPayNotifications } from '#modules/payments/wechat-pay/wechat-pay.factory.ts';
import { registerWeChatPayRoutes } from '#modules/payments/wechat-pay/wechat-pay.routes.ts';
import { createServices, type Services } from './services.ts';
import { registerRechatAuthRoutes } from './surfaces/rechat/rechat-auth.routes.ts';
import { registerDreamAuthRoutes } from './surfaces/dream/dream-auth.routes.ts';
import { registerDreamUsersRoutes } from './surfaces/dream/dream-users.routes.ts';
import { registerRechatChatRoutes } from './surfaces/rechat/rechat-chat.routes.ts';
import { registerDreamAdminRoutes } from './surfaces/dream/dream-admin.routes.ts';
import { registerDreamAdminVipRoutes } from './surfaces/dream/dream-admin-vip.routes.ts';
import { registerDreamPointsRoutes } from './surfaces/dream/dream-points.routes.ts';
import { registerDreamVipRoutes } from './surfaces/dream/dream-vip.routes.ts';
import { registerDreamOrdersRoutes } from './surfaces/dream/dream-orders.routes.ts';
import { registerDreamStatsRoutes } from './surfaces/dream/dream-stats.routes.ts';
import { registerStorageRoutes } from '#modules/storage/storage.routes.ts';
import { registerCharacterRoutes } from '#modules/characters/characters.routes.ts';
import { registerGalleryRoutes } from '#modules/gallery/gallery.routes.ts';
import { registerFavoritesRoutes } from '#modules/favorites/favorites.routes.ts';
import { registerImageJobRoutes } from '#modules/image-jobs/image-jobs.routes.ts';
import { ConsoleBundle } from '#modules/console/console.assets.ts';
import { registerConsoleRoutes } from '#modules/console/console.routes.ts';

/** Parts a caller (a test) may supply instead of having them built from the config. */
export interface AppOverrides {
  database?: Database;
  kv?: KeyValueStore;
  mailer?: Mailer;
  clock?: Clock;
  /** Payment providers instead of those the configuration builds (tests' stand-ins). */
  paymentProviders?: readonly PaymentProvider[];
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** Builds the whole application without listening. Start-up work (migrations, first admin) happens here. */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  if (config.ADMIN_PASSWORD) {
    try {
      assertStrongPassword(config.ADMIN_PASSWORD);
    } catch {
      throw new ConfigError(
        'Invalid configuration: ADMIN_PASSWORD must be 8-50 characters with upper-case, lower-case and a digit',
      );
    }
  }

  const app: App = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-admin-key"]',
          'res.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
    },
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : newId();
    },
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    // Requests during close are refused by refuseRequestsWhileClosing, in the envelope.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const warning of config.warnings) app.log.warn(`configuration: ${warning}`);
  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  refuseRequestsWhileClosing(app);
  // Every /api and /v1 route states who may call it; forgetting is a start-up error, not an open door.
  app.addHook('onRoute', (route) => {
    const guarded = /^\/(api|v1)(\/|$)/.test(route.url) && !route.url.startsWith('/api/docs');
    if (guarded && !route.config?.access)
      throw new Error(`Route ${String(route.method)} ${route.url} does not declare config.access`);
    // Admin routes take X-Admin-Key next to a session (auth.guard.ts): the OpenAPI document says so.
    if (route.config?.access === 'admin' && route.schema?.security)
      route.schema.security = [...route.schema.security, { adminKey: [] }];
  });
  registerJsonBodyParser(app);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  try {
    secureDataDir(config.DATA_DIR);
  } catch (error) {
    // Not fatal: DATA_DIR may be unused (SMTP or Resend, a server database) or another account's volume.
    app.log.warn({ err: error, dataDir: config.DATA_DIR }, 'DATA_DIR could not be made readable by its owner only');
  }
  const clock = overrides.clock ?? systemClock;
  const database =
    overrides.database ??
    (await connectDatabase(config.DATABASE_URL, {
      onIdleError: (error) => app.log.warn({ err: error }, 'idle database connection lost'),
    }));
  let kv: KeyValueStore;
  try {
    kv = overrides.kv ?? (config.REDIS_URL ? await connectRedis(config, app) : new MemoryStore());
  } catch (error) {
    if (!overrides.database) await database.destroy();
    throw error;
  }
  const mailer = overrides.mailer ?? createMailer(config, app.log);
  app.addHook('onClose', async () => {
    if (!overrides.mailer) await mailer.close();
    if (!overrides.kv) await kv.close();
    if (!overrides.database) await database.destroy();
  });

  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await app.close();
    throw error;
  }

  const bus =
    kv instanceof RedisStore
      ? await InvalidationBus.redis(kv.client, config.REDIS_PREFIX, (error, topic) =>
          app.log.warn(
            { err: error, topic },
            'a change could not be announced to the other instances; they pick it up at their next reconcile',
          ),
        )
      : InvalidationBus.local();
  app.addHook('onClose', () => bus.close());
  const services = createServices({
    config,
    database,
    kv,
    bus,
    mailer,
    clock,
    logger: app.log,
    paymentProviders: overrides.paymentProviders,
  });
  const { users, auth, tokens, captcha, credits, checkin, redeem, keys, pricing, channels, usage, gateway } = services;
  await Promise.all([pricing.load(), channels.load()]);
  if (config.OPENAI_BASE_URL && config.OPENAI_API_KEY) {
    const created = await channels.bootstrap(config.OPENAI_BASE_URL, config.OPENAI_API_KEY);
    if (created) app.log.info({ baseUrl: created.baseUrl }, 'first channel created from OPENAI_BASE_URL');
  }
  if (config.DIFY_API_URL && config.DIFY_API_KEY) {
    const created = await channels.bootstrapDify(config.DIFY_API_URL, config.DIFY_API_KEY, {
      mode: config.DIFY_APP_MODE,
      prices: services.difyDefaults,
    });
    if (created)
      app.log.info(
        { baseUrl: created.baseUrl, mode: config.DIFY_APP_MODE },
        'first Dify app created from DIFY_API_URL',
      );
  }
  app.decorate('services', services);

  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    const admin = await users.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD, (trx, user) =>
      credits.openAccount(trx, user.id, 0),
    );
    if (admin.created) app.log.info({ email: config.ADMIN_EMAIL }, 'first admin created');
  }

  await registerSecurity(app, config);
  await registerDocs(app, VERSION, { production: config.isProduction });
  registerAuthGuard(app, tokens, keys, services.adminKey);
  registerAuditHook(app, services.audit);
  registerConsoleRoutes(
    app,
    ConsoleBundle.load(config.CONSOLE_DIR ?? fileURLToPath(new URL('../web/dist', import.meta.url))),
  );
  registerHealthRoutes(app, { config, database, kv });
  registerAuthRoutes(app, { auth, tokens, config });
  registerSessionsRoutes(app, tokens);
  registerCaptchaRoutes(app, captcha);
  registerUsersRoutes(app, users);
  registerRechatAuthRoutes(app, { auth, users });
  registerDreamAuthRoutes(app, services);
  registerDreamUsersRoutes(app, services);
  registerCreditsRoutes(app, { credits, users });
  registerCheckinRoutes(app, checkin);
  registerRedeemRoutes(app, redeem);
  registerStatsRoutes(app, { credits, checkin, usage });
  registerKeysRoutes(app, { keys, usage, now: () => clock.now() });
  registerChannelRoutes(app, channels, services.difyDefaults);
  registerPricingRoutes(app, pricing);
  registerPlansRoutes(app, { plans: services.plans, users });
  registerDreamVipRoutes(app, { plans: services.plans, orders: services.orders });
  registerDreamAdminVipRoutes(app, { plans: services.plans, users });
  registerDreamPointsRoutes(app, { credits, orders: services.orders });
  registerDreamOrdersRoutes(app, services.orders);
  registerDreamStatsRoutes(app, services.stats);
  registerOrdersRoutes(app, services.orders);
  registerStripeWebhook(app, {
    provider: services.payments.has('stripe') ? services.payments.provider('stripe') : null,
    signingSecret: config.STRIPE_WEBHOOK_SECRET,
    sink: services.orders,
    clock,
  });
  registerWeChatPayRoutes(app, createWeChatPayNotifications(config, services.orders, { clock, logger: app.log }));
  registerUsageRoutes(app, usage);
  await registerStorageRoutes(app, services.storage);
  registerCharacterRoutes(app, services.characters, config.UPLOAD_MAX_BYTES);
  registerImageJobRoutes(app, services.imageJobs);
  registerAuditRoutes(app, services.audit);
  registerUserAdminRoutes(app, services.userAdmin);
  registerDreamAdminRoutes(app, services.userAdmin);
  // The console's admin overview (figures and per-day series) and an account's usage for admins.
  registerAdminOverviewRoutes(app, {
    overview: new OverviewService(
      new OverviewRepository(database.db, database.capabilities),
      services.orders,
      clock,
      config.CHECKIN_TZ,
    ),
    usage,
    users,
  });
  registerTemplatesRoutes(app, services.templates);
  registerGalleryRoutes(app, services.gallery);
  registerFavoritesRoutes(app, services.favorites);
  registerGatewayRoutes(app, { ...gateway, bodyLimit: config.GATEWAY_BODY_LIMIT, startedAt: clock.now() });
  // The console's playground: the same paid chat call, through the session (docs/console.md).
  registerPlaygroundRoutes(app, { ...gateway, bodyLimit: config.GATEWAY_BODY_LIMIT });
  const difyRelay = { ...gateway, dify: services.dify, stopDrainMs: 5_000 };
  await registerDifyRoutes(app, { ...difyRelay, uploadLimit: config.DIFY_UPLOAD_LIMIT });
  registerRechatChatRoutes(app, {
    ...difyRelay,
    channels,
    difyDefaults: services.difyDefaults,
    defaultDifyUrl: config.DIFY_API_URL ?? 'https://api.dify.ai/v1',
  });
  // Holds past their deadline (a crash may have left some) are freed at start and then regularly.
  runPeriodically(app, { name: 'hold sweep', everyMs: config.HOLD_SWEEP_INTERVAL * 1000, atStart: true }, async () => {
    const expired = await credits.sweepExpiredHolds();
    if (expired > 0) app.log.warn({ expired }, 'freed expired credit holds');
  });
  // Calls running here longer than a hold's TTL keep their holds and concurrency slots (renewed well before the deadline).
  runPeriodically(app, { name: 'hold renewal', everyMs: Math.max(1_000, (config.CREDIT_HOLD_TTL * 1000) / 3) }, () =>
    Promise.all([credits.renewKeptHolds(), services.limiter.renewSlots()]),
  );
  // Pending orders are asked about (WeChat may never notify), expired ones closed, unanswered refunds asked again.
  if (services.payments.enabled) {
    runPeriodically(
      app,
      { name: 'order reconcile', everyMs: config.ORDER_RECONCILE_INTERVAL * 1000, atStart: true },
      async () => {
        const done = await services.reconciler.run();
        if (done.fulfilled + done.closed > 0) app.log.info(done, 'orders reconciled');
      },
    );
  }
  // Open image jobs are asked about and settled, each by one instance (docs/image-jobs.md); at start too,
  // so jobs a stopped instance accepted are settled after a restart. Without a job API configured, jobs
  // left from when it was end at their deadline.
  runPeriodically(app, { name: 'image jobs', everyMs: config.IMAGE_JOB_POLL_INTERVAL * 1000, atStart: true }, () =>
    services.jobSettler.run(),
  );
  // Prices and channels are read again regularly: a change whose announcement was lost (Redis away) still arrives.
  if (config.CACHE_RECONCILE_SECONDS > 0) {
    runPeriodically(app, { name: 'cache reconcile', everyMs: config.CACHE_RECONCILE_SECONDS * 1000 }, () =>
      Promise.all([pricing.load(), channels.load()]),
    );
  }
  runPeriodically(app, { name: 'channel probe', everyMs: config.CHANNEL_PROBE_INTERVAL * 1000 }, () =>
    channels.probe(),
  );
  runPeriodically(app, { name: 'key last-used', everyMs: 5_000 }, () => keys.flushLastUsed());
  runPeriodically(app, { name: 'usage retention', everyMs: 3_600_000, atStart: true }, () => usage.prune());
  app.addHook('onClose', () => keys.flushLastUsed());
  app.addHook('onClose', () => services.storage.driver.close());
  registerGracefulClose(app, { drainMs: config.SHUTDOWN_DRAIN_SECONDS * 1000, work: gateway.inFlight });

  await app.ready();
  return app;
}

function connectRedis(config: Config, app: App): Promise<RedisStore> {
  return RedisStore.connect(config.REDIS_URL!, config.REDIS_PREFIX, (error) =>
    app.log.warn({ err: error }, 'Redis connection error'),
  );
}
