import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createDatabase, type Database, type DialectName } from '#core/db/create-db.ts';
import type { FakeDify } from '#test/fakes/dify.ts';
import type { FakeStripe } from '#test/fakes/stripe.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { createTestDatabase, type TestDatabase } from '#test/helpers/databases.ts';
import { clearRedisPrefix, uniquePrefix } from '#test/helpers/kv.ts';
import type { Tally } from '#test/reliability/tally.ts';
import { FaultProxy, hostPortOf } from './fault-proxy.ts';
import { Http } from './http.ts';
import { SECRETS_OF_THE_RUN, type SecretBook } from './secrets.ts';
import { freePort, TollgateProcess } from './tollgate-process.ts';

export const ADMIN = { email: 'reliability-admin@example.com', password: 'Rel1ability-Admin-Pass' };

/**
 * The environment every instance shares. Short hold TTL and sweep interval so a crash's stale holds
 * are freed within the test; a channel never taken out by the upstream faults the suite injects (it is
 * the only one); role limits off so only the limits a scenario sets apply; a small sign-up bonus so
 * balances run out and refusals for money are part of the load.
 */
function sharedEnv(place: {
  dataDir: string;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  upstream: string;
}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    MAIL_TRANSPORT: 'log', // sign-up codes are read from the outbox
    LOG_LEVEL: 'debug',
    DATA_DIR: place.dataDir,
    DATABASE_URL: place.databaseUrl,
    REDIS_URL: place.redisUrl,
    REDIS_PREFIX: place.prefix,
    JWT_SECRET: SECRETS_OF_THE_RUN.jwtSecret,
    MASTER_KEY: SECRETS_OF_THE_RUN.masterKey,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    OPENAI_BASE_URL: place.upstream,
    OPENAI_API_KEY: SECRETS_OF_THE_RUN.channelSecret,
    CREDIT_HOLD_TTL: '10',
    HOLD_SWEEP_INTERVAL: '1',
    CHANNEL_FAILURE_THRESHOLD: '1000000',
    CHANNEL_PROBE_INTERVAL: '5',
    UPSTREAM_HEADERS_TIMEOUT: '3',
    UPSTREAM_BODY_TIMEOUT: '2',
    RATE_LIMIT_USER_RPM: '0',
    RATE_LIMIT_USER_CONCURRENCY: '0',
    SIGNUP_BONUS: '60',
    SIGNUP_BONUS_PER_IP_DAILY: '0',
    REDEEM_MAX_FAILURES_PER_USER: '100000',
    REDEEM_MAX_FAILURES_PER_IP: '100000',
    // Every client of the run calls from 127.0.0.1, and the load uses deleted keys on purpose.
    API_KEY_GUESS_MAX_PER_IP: '100000',
    EMAIL_CODE_COOLDOWN: '0',
    EMAIL_DAILY_CAP_PER_EMAIL: '1000',
    EMAIL_DAILY_CAP_PER_IP: '1000',
  };
}

export interface ClusterOptions {
  dialect: Exclude<DialectName, 'sqlite'>;
  instances: number;
  /** Added to every instance's environment (e.g. DIFY_API_URL for the Dify operation). */
  env?: Record<string, string>;
  /** The Dify fake named in `env` (DIFY_API_URL), for the checks that look at what reached Dify; the caller closes it. */
  dify?: FakeDify;
  /** The Stripe fake named in `env` (STRIPE_*), for the purchases of the mixed load; the caller closes it. */
  stripe?: FakeStripe;
}

/**
 * N Tollgate processes on one database and one Redis, each reached through a FaultProxy so a scenario
 * can take the database or Redis away; the fake OpenAI upstream is their one channel. The suite reads
 * the database directly (not through the proxy) to check the books.
 */
export class Cluster {
  readonly http: Http;
  readonly secrets: SecretBook;
  adminToken = '';
  /** The Dify app's fake, when the cluster was given one (ClusterOptions.dify). */
  dify: FakeDify | undefined;
  /** The Stripe fake, when the cluster was given one (ClusterOptions.stripe). */
  stripe: FakeStripe | undefined;

  private constructor(
    readonly tally: Tally,
    readonly dialect: ClusterOptions['dialect'],
    readonly instances: TollgateProcess[],
    readonly fake: FakeOpenAI,
    readonly dbProxy: FaultProxy,
    readonly redisProxy: FaultProxy,
    readonly database: Database,
    private readonly testDatabase: TestDatabase,
    private readonly dataDir: string,
    private readonly redis: { url: string; prefix: string },
  ) {
    this.http = new Http(tally);
    this.secrets = SECRETS_OF_THE_RUN.book();
  }

  static async start(tally: Tally, options: ClusterOptions): Promise<Cluster> {
    const redisUrl = process.env.TEST_REDIS_URL;
    if (!redisUrl) throw new Error('TEST_REDIS_URL is required for the multi-instance suites');
    const testDatabase = await createTestDatabase(options.dialect);
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-cluster-'));
    const prefix = uniquePrefix();
    const fake = await FakeOpenAI.start();
    const dbProxy = await FaultProxy.start(hostPortOf(testDatabase.url, options.dialect === 'postgres' ? 5432 : 3306));
    const redisProxy = await FaultProxy.start(hostPortOf(redisUrl, 6379));
    const env = {
      ...sharedEnv({
        dataDir,
        databaseUrl: dbProxy.rewrite(testDatabase.url),
        redisUrl: redisProxy.rewrite(redisUrl),
        prefix,
        upstream: fake.url,
      }),
      ...options.env,
    };
    const instances: TollgateProcess[] = [];
    for (let i = 0; i < options.instances; i++) instances.push(new TollgateProcess(await freePort(), env));
    const cluster = new Cluster(
      tally,
      options.dialect,
      instances,
      fake,
      dbProxy,
      redisProxy,
      createDatabase(testDatabase.url, { poolSize: 4 }),
      testDatabase,
      dataDir,
      {
        url: redisUrl,
        prefix,
      },
    );
    // The first runs the migrations alone; the others then start side by side.
    await cluster.startInstance(0);
    await Promise.all(instances.slice(1).map((_, i) => cluster.startInstance(i + 1)));
    const login = await cluster.http.expectJson<{ access_token: string; refresh_token: string }>(
      instances[0]!.url,
      'POST',
      '/api/auth/login',
      200,
      { body: ADMIN },
    );
    cluster.adminToken = login.access_token;
    cluster.dify = options.dify;
    cluster.stripe = options.stripe;
    cluster.secrets.add('admin password', ADMIN.password);
    cluster.secrets.add('admin access token', login.access_token);
    cluster.secrets.add('admin refresh token', login.refresh_token);
    return cluster;
  }

  /** The upstream key of the one channel (OPENAI_API_KEY): the only credential the fake may ever see. */
  get channelSecret(): string {
    return SECRETS_OF_THE_RUN.channelSecret;
  }

  url(i: number): string {
    return this.instances[i % this.instances.length]!.url;
  }

  async startInstance(i: number): Promise<void> {
    await this.instances[i]!.start();
    this.tally.instance();
  }

  /** The 6-digit code of the latest mail to `email` (MAIL_TRANSPORT=log writes DATA_DIR/outbox.jsonl). */
  lastCode(email: string): string {
    const file = join(this.dataDir, 'outbox.jsonl');
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    const mail = lines
      .map((line) => JSON.parse(line) as { to: string; text: string })
      .filter((m) => m.to === email.toLowerCase())
      .at(-1);
    const code = mail?.text.match(/\b(\d{6})\b/)?.[1];
    if (!code) throw new Error(`no code was mailed to ${email}`);
    return code;
  }

  /** A counter the instances keep in Redis (the key without the run's prefix), read directly. */
  async redisNumber(key: string): Promise<number> {
    const client = new Redis(this.redis.url, { lazyConnect: true, keyPrefix: this.redis.prefix });
    await client.connect();
    try {
      return Number((await client.get(key)) ?? 0);
    } finally {
      await client.quit();
    }
  }

  /** Everything every instance logged, restarts and killed processes included. */
  logs(): string {
    return this.instances.map((instance) => instance.logs()).join('');
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.stop('SIGTERM')));
    await this.database.destroy();
    await Promise.all([this.dbProxy.close(), this.redisProxy.close(), this.fake.close()]);
    await this.testDatabase.drop();
    await clearRedisPrefix(this.redis.url, this.redis.prefix);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
