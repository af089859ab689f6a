import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOverrides } from '#src/app.ts';
import { loadConfig, type Config } from '#core/config.ts';
import type { DialectName } from '#core/db/create-db.ts';
import type { App } from '#core/http/route-config.ts';
import { ManualClock } from './clock.ts';
import { availableDialects, createTestDatabase } from './databases.ts';
import { availableKvKinds, clearRedisPrefix, uniquePrefix, type KvKind } from './kv.ts';

export interface Backend {
  label: string;
  dialect: DialectName;
  kv: KvKind;
}

/**
 * The backends a suite runs on: SQLite + memory always; SQLite + Redis, PostgreSQL and MySQL when
 * their TEST_*_URL variables are set (the server databases use Redis when it is available).
 */
export function backends(): Backend[] {
  const redis = availableKvKinds().includes('redis');
  const list: Backend[] = [{ label: 'sqlite+memory', dialect: 'sqlite', kv: 'memory' }];
  if (redis) list.push({ label: 'sqlite+redis', dialect: 'sqlite', kv: 'redis' });
  for (const dialect of availableDialects().filter((d) => d !== 'sqlite')) {
    const kv: KvKind = redis ? 'redis' : 'memory';
    list.push({ label: `${dialect}+${kv}`, dialect, kv });
  }
  return list;
}

export interface OutboxMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface TestApp {
  app: App;
  config: Config;
  clock: ManualClock;
  dataDir: string;
  /** Messages the log mail transport wrote to DATA_DIR/outbox.jsonl, oldest first. */
  outbox(): OutboxMessage[];
  /** The 6-digit code of the latest email to `email`. */
  lastCode(email: string): string;
  close(): Promise<void>;
}

export const TEST_SECRETS = {
  JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
  MASTER_KEY: '0'.repeat(64),
};

/** Where a test instance keeps its state. */
export interface TestPlace {
  databaseUrl: string;
  dataDir: string;
  redisUrl: string | undefined;
  prefix: string;
}

/** The configuration of a test instance: silent, fixed secrets, its own place; `env` adds or overrides. */
export function testConfig(place: TestPlace, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: place.dataDir,
    DATABASE_URL: place.databaseUrl,
    ...(place.redisUrl ? { REDIS_URL: place.redisUrl, REDIS_PREFIX: place.prefix } : {}),
    ...TEST_SECRETS,
    ...env,
  });
}

/** A whole Tollgate on its own fresh database, data folder and Redis key prefix. */
export async function createTestApp(
  backend: Backend = backends()[0]!,
  options: { env?: Record<string, string>; overrides?: AppOverrides } = {},
): Promise<TestApp> {
  const prefix = uniquePrefix();
  const redisUrl = backend.kv === 'redis' ? process.env.TEST_REDIS_URL : undefined;
  // The configuration is checked before anything is created, so a bad one leaves nothing behind.
  testConfig(
    { databaseUrl: 'sqlite::memory:', dataDir: tmpdir(), redisUrl, prefix },
    { JWT_SECRET: TEST_SECRETS.JWT_SECRET, ...options.env },
  );
  const database = await createTestDatabase(backend.dialect);
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
  const config = testConfig({ databaseUrl: database.url, dataDir, redisUrl, prefix }, options.env);
  const clock = new ManualClock();
  let app: App;
  try {
    app = await buildApp(config, { clock, ...options.overrides });
  } catch (error) {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const outbox = (): OutboxMessage[] => {
    const file = join(dataDir, 'outbox.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as OutboxMessage);
  };
  return {
    app,
    config,
    clock,
    dataDir,
    outbox,
    lastCode(email) {
      const message = outbox()
        .filter((m) => m.to === email.toLowerCase())
        .at(-1);
      const code = message?.text.match(/\b(\d{6})\b/)?.[1];
      if (!code) throw new Error(`no code was mailed to ${email}`);
      return code;
    },
    async close() {
      await app.close();
      await database.drop();
      if (redisUrl) await clearRedisPrefix(redisUrl, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let ipCounter = 0;
/** A client address no other test uses, so per-IP counters never leak between tests. */
export function freshIp(): string {
  ipCounter += 1;
  return `10.${process.pid % 250}.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 1}`;
}

let emailCounter = 0;
export function freshEmail(tag = 'user'): string {
  emailCounter += 1;
  return `${tag}-${emailCounter}-${Date.now().toString(36)}@example.com`;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  ip?: string;
  lang?: string;
  headers?: Record<string, string>;
}

export function call(
  app: App,
  method: InjectOptions['method'],
  url: string,
  options: CallOptions = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.lang) headers['accept-language'] = options.lang;
  return app.inject({
    method,
    url,
    headers,
    remoteAddress: options.ip ?? '127.0.0.1',
    ...(options.body === undefined
      ? {}
      : typeof options.body === 'string'
        ? { payload: options.body }
        : { payload: options.body as object }),
  });
}

export const STRONG_PASSWORD = 'Sup3rSecret';

export interface RegisteredUser {
  id: string;
  email: string;
  password: string;
  username: string;
  accessToken: string;
  refreshToken: string;
}

/** Signs a new user up the way a person does: send-code, read the mail, register. */
export async function registerUser(
  t: TestApp,
  options: { email?: string; password?: string; ip?: string } = {},
): Promise<RegisteredUser> {
  const email = options.email ?? freshEmail();
  const password = options.password ?? STRONG_PASSWORD;
  const ip = options.ip ?? freshIp();
  const sent = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
  if (sent.statusCode !== 200) throw new Error(`send-code failed: ${sent.statusCode} ${sent.body}`);
  const username = email.split('@')[0]!;
  const registered = await call(t.app, 'POST', '/api/auth/register', {
    body: { email, password, username, code: t.lastCode(email) },
    ip,
  });
  if (registered.statusCode !== 200) throw new Error(`register failed: ${registered.statusCode} ${registered.body}`);
  const body = registered.json<{ access_token: string; refresh_token: string; user: { id: string } }>();
  return {
    id: body.user.id,
    email,
    password,
    username,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
  };
}

/** The first admin, created at start when createTestApp gets `env: ADMIN_ENV`. */
export const ADMIN_ENV = { ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'Adm1nPassw0rd' };

/** Signs the bootstrap admin in and returns its access token. */
export async function adminToken(t: TestApp): Promise<string> {
  const res = await call(t.app, 'POST', '/api/auth/login', {
    body: { email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD },
    ip: freshIp(),
  });
  if (res.statusCode !== 200) throw new Error(`admin login failed: ${res.statusCode} ${res.body}`);
  return res.json<{ access_token: string }>().access_token;
}
