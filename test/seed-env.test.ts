import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '#core/config.ts';
import { DIFY_CLOUD_URL, SEED_NAMES } from '#core/seed-env.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-seed-env-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function load(env: Record<string, string>): Readonly<Config> {
  return loadConfig({ DATA_DIR: dataDir, MASTER_KEY: TEST_SECRETS.MASTER_KEY, ...env });
}

function refused(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const SECRET_34 = 'your-super-secret-key-min-32-chars';

describe("each seed's environment names are read as the Tollgate setting they mean", () => {
  it.each<[string, Record<string, string>, Partial<Config>]>([
    // seed 000 (Dify proxy)
    [
      '000: DIFY_API_KEY alone is an app on Dify Cloud',
      { DIFY_API_KEY: 'app-abc' },
      { DIFY_API_KEY: 'app-abc', DIFY_API_URL: DIFY_CLOUD_URL },
    ],
    [
      '000: RESEND_API_KEY alone chooses the Resend transport',
      { RESEND_API_KEY: 're_abc' },
      { MAIL_TRANSPORT: 'resend', RESEND_API_KEY: 're_abc' },
    ],
    [
      '000: an explicit MAIL_TRANSPORT wins over RESEND_API_KEY',
      { RESEND_API_KEY: 're_abc', MAIL_TRANSPORT: 'log' },
      { MAIL_TRANSPORT: 'log' },
    ],
    [
      '000: a Prisma postgresql:// URL is taken as it is',
      { DATABASE_URL: 'postgresql://u:p@db:5432/dify_proxy' },
      { DATABASE_URL: 'postgresql://u:p@db:5432/dify_proxy' },
    ],
    // seed 002 (Dify ReChat)
    ['002: SECRET_KEY is JWT_SECRET', { SECRET_KEY: SECRET_34 }, { JWT_SECRET: SECRET_34, jwtSecret: SECRET_34 }],
    [
      '002: JWT_SECRET wins over SECRET_KEY',
      { SECRET_KEY: SECRET_34, JWT_SECRET: TEST_SECRETS.JWT_SECRET },
      { JWT_SECRET: TEST_SECRETS.JWT_SECRET },
    ],
    [
      "002: SQLAlchemy's mysql+pymysql:// is mysql://",
      { DATABASE_URL: 'mysql+pymysql://root:pw@localhost:3306/dify_rechat?charset=utf8mb4' },
      { DATABASE_URL: 'mysql://root:pw@localhost:3306/dify_rechat?charset=utf8mb4' },
    ],
    [
      '002: postgresql+psycopg2:// is postgresql://',
      { DATABASE_URL: 'postgresql+psycopg2://u@h/d' },
      { DATABASE_URL: 'postgresql://u@h/d' },
    ],
    [
      '002: a DIFY_API_URL without a path is given /v1',
      { DIFY_API_URL: 'https://api.dify.ai' },
      { DIFY_API_URL: 'https://api.dify.ai/v1' },
    ],
    [
      '002: DIFY_API_URL alone (keys come from the admin API) starts',
      { DIFY_API_URL: 'http://dify.local/' },
      { DIFY_API_URL: 'http://dify.local/v1' },
    ],
    [
      'a DIFY_API_URL with a path is kept',
      { DIFY_API_URL: 'http://dify.local/v1', DIFY_API_KEY: 'app-x' },
      { DIFY_API_URL: 'http://dify.local/v1' },
    ],
    // seed 003 (Dream WeChat)
    [
      '003: DATABASE_USERNAME, _PASSWORD, _NAME are a PostgreSQL URL on localhost',
      { DATABASE_USERNAME: 'postgres', DATABASE_PASSWORD: 'p@ss:w/rd', DATABASE_NAME: 'dream_wechat' },
      { DATABASE_URL: 'postgres://postgres:p%40ss%3Aw%2Frd@localhost:5432/dream_wechat' },
    ],
    [
      '003: with DATABASE_HOST and DATABASE_PORT',
      { DATABASE_HOST: 'db.internal', DATABASE_PORT: '6432', DATABASE_USERNAME: 'app', DATABASE_NAME: 'dream' },
      { DATABASE_URL: 'postgres://app@db.internal:6432/dream' },
    ],
    [
      '003: REDIS_PASSWORD alone is Redis on localhost',
      { REDIS_PASSWORD: 's3cret' },
      { REDIS_URL: 'redis://:s3cret@localhost:6379' },
    ],
    ['003: an empty REDIS_PASSWORD (as in the seed) is no Redis', { REDIS_PASSWORD: '' }, { REDIS_URL: undefined }],
    ['003: CORS_ORIGIN=* is the same setting', { CORS_ORIGIN: '*' }, { CORS_ORIGIN: '*' }],
    // seed 004 (CodeX API Proxy)
    [
      '004: DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD, DB_NAME are a MySQL URL',
      { DB_HOST: '10.0.0.5', DB_PORT: '3307', DB_USERNAME: 'root', DB_PASSWORD: 'your_password', DB_NAME: 'codexapi' },
      { DATABASE_URL: 'mysql://root:your_password@10.0.0.5:3307/codexapi' },
    ],
    [
      '004: DB_NAME alone is MySQL on localhost:3306',
      { DB_NAME: 'codexapi' },
      { DATABASE_URL: 'mysql://localhost:3306/codexapi' },
    ],
    [
      '004: DATABASE_URL wins over DB_*',
      { DATABASE_URL: 'sqlite:./x.db', DB_HOST: 'h', DB_NAME: 'codexapi' },
      { DATABASE_URL: 'sqlite:./x.db' },
    ],
    ['004: JWT_EXPIRES_IN=7d is a 7-day access token', { JWT_EXPIRES_IN: '7d' }, { ACCESS_TOKEN_TTL: 604_800 }],
    ['004: JWT_EXPIRES_IN=15m', { JWT_EXPIRES_IN: '15m' }, { ACCESS_TOKEN_TTL: 900 }],
    ['004: JWT_EXPIRES_IN=3600 is seconds', { JWT_EXPIRES_IN: '3600' }, { ACCESS_TOKEN_TTL: 3600 }],
    ['004: JWT_EXPIRES_IN=2 hours', { JWT_EXPIRES_IN: '2 hours' }, { ACCESS_TOKEN_TTL: 7200 }],
    [
      '004: ACCESS_TOKEN_TTL wins over JWT_EXPIRES_IN',
      { JWT_EXPIRES_IN: '7d', ACCESS_TOKEN_TTL: '600' },
      { ACCESS_TOKEN_TTL: 600 },
    ],
    [
      '004: EMAIL_FROM and EMAIL_REPLY_TO',
      { EMAIL_FROM: 'CodexAPI <noreply@codexapi.com>', EMAIL_REPLY_TO: 'support@codexapi.com' },
      { FROM_EMAIL: 'CodexAPI <noreply@codexapi.com>', REPLY_TO_EMAIL: 'support@codexapi.com' },
    ],
    [
      '004: FROM_EMAIL wins over EMAIL_FROM',
      { EMAIL_FROM: 'a@codexapi.com', FROM_EMAIL: 'b@example.com' },
      { FROM_EMAIL: 'b@example.com' },
    ],
    [
      '004: REDIS_HOST and REDIS_PORT',
      { REDIS_HOST: 'cache', REDIS_PORT: '6380' },
      { REDIS_URL: 'redis://cache:6380' },
    ],
    [
      '004: REDIS_URL wins over REDIS_HOST',
      { REDIS_HOST: 'cache', REDIS_URL: 'redis://other:6379' },
      { REDIS_URL: 'redis://other:6379' },
    ],
  ])('%s', (_label, env, expected) => {
    const config = load(env) as unknown as Record<string, unknown>;
    expect(Object.fromEntries(Object.keys(expected).map((key) => [key, config[key]]))).toEqual(expected);
  });

  it('a seed name that loses to the Tollgate name is a start-up warning', () => {
    expect(
      load({
        DATABASE_URL: 'sqlite:./x.db',
        DB_HOST: 'h',
        DB_NAME: 'n',
        SECRET_KEY: SECRET_34,
        JWT_SECRET: TEST_SECRETS.JWT_SECRET,
      }).warnings,
    ).toEqual(['SECRET_KEY is ignored: JWT_SECRET is set', 'DB_HOST, DB_NAME are ignored: DATABASE_URL is set']);
    expect(load({ DB_HOST: 'h' }).warnings).toEqual([
      'DB_HOST is ignored: without DB_NAME there is no database to use',
    ]);
    expect(load({}).warnings).toEqual([]);
  });

  it.each([
    [{ JWT_EXPIRES_IN: 'forever' }, 'JWT_EXPIRES_IN must be a duration', '"forever"'],
    [{ JWT_EXPIRES_IN: '30s' }, 'ACCESS_TOKEN_TTL', '60'],
    [{ DB_NAME: 'codexapi', DB_PORT: 'mysql' }, 'DB_PORT must be a port number', '"mysql"'],
    [{ DATABASE_NAME: 'dream', DATABASE_PORT: '54x' }, 'DATABASE_PORT must be a port number', '"54x"'],
    [{ EMAIL_REPLY_TO: 'support' }, 'REPLY_TO_EMAIL', '"support"'],
    [{ DATABASE_URL: 'mssql+pyodbc://u@h/d' }, 'DATABASE_URL', 'mssql+pyodbc'],
  ])('refuses %j, naming %s', (env, rule, got) => {
    const message = refused(env);
    expect(message).toContain(rule);
    expect(message).toContain(got);
  });

  it('a composed database URL that is refused does not show its password', () => {
    const message = refused({ DB_NAME: 'codexapi', DB_PASSWORD: 'hunter2', DB_PORT: '99999' });
    expect(message).toContain('DB_PORT must be a port number');
    expect(message).not.toContain('hunter2');
  });
});

describe('a JWT_SECRET under 32 characters (seed 000 and 004 examples)', () => {
  it('starts outside production, with a warning that says the length and not the secret', () => {
    const config = load({ JWT_SECRET: 'your-super-secret-jwt-key' });
    expect(config.jwtSecret).toBe('your-super-secret-jwt-key');
    expect(config.warnings).toEqual([
      expect.stringContaining(
        'JWT_SECRET must be at least 32 characters when NODE_ENV=production (got a value of 25 characters)',
      ),
    ]);
    expect(config.warnings.join()).not.toContain('your-super');
  });

  it('is refused in production, through either name', () => {
    for (const env of [{ JWT_SECRET: 'your-super-secret-jwt-key' }, { SECRET_KEY: 'please-change-me' }] as Record<
      string,
      string
    >[]) {
      const message = refused({ NODE_ENV: 'production', ...env });
      expect(message).toMatch(
        /JWT_SECRET must be at least 32 characters when NODE_ENV=production \(got a value of \d+ characters\)/,
      );
      expect(message).not.toMatch(/your-super|please-change/);
    }
    expect(load({ NODE_ENV: 'production', MAIL_TRANSPORT: 'log', SECRET_KEY: SECRET_34 }).jwtSecret).toBe(SECRET_34);
  });
});

it('docs/configuration.md shows every seed name and the setting it is read as', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'configuration.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
  for (const { name, means } of SEED_NAMES) {
    expect(
      rows.some((row) => row.split('|')[1]!.includes(`\`${name}\``) && row.split('|')[3]!.includes(`\`${means}\``)),
      name,
    ).toBe(true);
  }
});
