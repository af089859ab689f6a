import type { Env } from './config.ts';

/**
 * The environment names of the seed systems, read as the Tollgate setting each means, so that a user
 * moving from one of them starts Tollgate with the `.env` they have. Applied once, by loadConfig,
 * before anything is validated. Tollgate's own name always wins when both are set.
 *
 * Seeds: 000 Dify proxy (NestJS), 002 Dify ReChat (FastAPI), 003 Dream WeChat (NestJS),
 * 004 CodeX API Proxy (Next.js). docs/configuration.md shows this table to users.
 */
type UrlKind = 'mysql' | 'postgres' | 'redis';
type UrlPart = 'host' | 'port' | 'user' | 'password' | 'database';

export interface SeedName {
  /** The variable as the seed's `.env` writes it. */
  readonly name: string;
  readonly seeds: string;
  /** The Tollgate setting it is read as (the same name when only its value's form differs). */
  readonly means: keyof Env;
  /** One part of a URL the seed spreads over several variables. */
  readonly part?: { readonly of: UrlKind; readonly is: UrlPart };
  /** Its value in Tollgate's form; throws (a message naming the variable) when it has none. */
  readonly convert?: (value: string, name: string) => string;
  /** Settings that follow from it when they are not set themselves. */
  readonly implies?: Readonly<Partial<Record<keyof Env, string>>>;
  readonly note: string;
}

export const DIFY_CLOUD_URL = 'https://api.dify.ai/v1';

export const SEED_NAMES: readonly SeedName[] = [
  {
    name: 'DATABASE_URL',
    seeds: '002',
    means: 'DATABASE_URL',
    convert: withoutDriver,
    note: "SQLAlchemy's driver suffix is dropped: `mysql+pymysql://` is `mysql://`, `postgresql+psycopg2://` is `postgresql://`",
  },
  {
    name: 'DB_HOST',
    seeds: '004',
    means: 'DATABASE_URL',
    part: { of: 'mysql', is: 'host' },
    note: 'MySQL host (default `localhost`)',
  },
  {
    name: 'DB_PORT',
    seeds: '004',
    means: 'DATABASE_URL',
    part: { of: 'mysql', is: 'port' },
    note: 'MySQL port (default `3306`)',
  },
  { name: 'DB_USERNAME', seeds: '004', means: 'DATABASE_URL', part: { of: 'mysql', is: 'user' }, note: 'MySQL user' },
  {
    name: 'DB_PASSWORD',
    seeds: '004',
    means: 'DATABASE_URL',
    part: { of: 'mysql', is: 'password' },
    note: 'MySQL password',
  },
  {
    name: 'DB_NAME',
    seeds: '004',
    means: 'DATABASE_URL',
    part: { of: 'mysql', is: 'database' },
    note: 'MySQL database: with it the `DB_*` variables make `mysql://DB_USERNAME:DB_PASSWORD@DB_HOST:DB_PORT/DB_NAME`',
  },
  {
    name: 'DATABASE_HOST',
    seeds: '003',
    means: 'DATABASE_URL',
    part: { of: 'postgres', is: 'host' },
    note: 'PostgreSQL host (default `localhost`)',
  },
  {
    name: 'DATABASE_PORT',
    seeds: '003',
    means: 'DATABASE_URL',
    part: { of: 'postgres', is: 'port' },
    note: 'PostgreSQL port (default `5432`)',
  },
  {
    name: 'DATABASE_USERNAME',
    seeds: '003',
    means: 'DATABASE_URL',
    part: { of: 'postgres', is: 'user' },
    note: 'PostgreSQL user',
  },
  {
    name: 'DATABASE_PASSWORD',
    seeds: '003',
    means: 'DATABASE_URL',
    part: { of: 'postgres', is: 'password' },
    note: 'PostgreSQL password',
  },
  {
    name: 'DATABASE_NAME',
    seeds: '003',
    means: 'DATABASE_URL',
    part: { of: 'postgres', is: 'database' },
    note: 'PostgreSQL database: with it the `DATABASE_*` variables make `postgres://DATABASE_USERNAME:DATABASE_PASSWORD@DATABASE_HOST:DATABASE_PORT/DATABASE_NAME`',
  },
  {
    name: 'REDIS_HOST',
    seeds: '004',
    means: 'REDIS_URL',
    part: { of: 'redis', is: 'host' },
    note: 'any of `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD` makes `redis://:REDIS_PASSWORD@REDIS_HOST:REDIS_PORT` (defaults `localhost`, `6379`)',
  },
  { name: 'REDIS_PORT', seeds: '004', means: 'REDIS_URL', part: { of: 'redis', is: 'port' }, note: 'as `REDIS_HOST`' },
  {
    name: 'REDIS_PASSWORD',
    seeds: '003',
    means: 'REDIS_URL',
    part: { of: 'redis', is: 'password' },
    note: 'as `REDIS_HOST`; empty (as in the seed) means no Redis',
  },
  { name: 'SECRET_KEY', seeds: '002', means: 'JWT_SECRET', note: 'signs the session tokens' },
  {
    name: 'JWT_EXPIRES_IN',
    seeds: '004',
    means: 'ACCESS_TOKEN_TTL',
    convert: durationSeconds,
    note: 'a duration: `3600` (seconds), `15m`, `12h`, `7d`, `2 days`',
  },
  { name: 'EMAIL_FROM', seeds: '004', means: 'FROM_EMAIL', note: 'the sender' },
  { name: 'EMAIL_REPLY_TO', seeds: '004', means: 'REPLY_TO_EMAIL', note: 'where replies go' },
  {
    name: 'RESEND_API_KEY',
    seeds: '000, 004',
    means: 'RESEND_API_KEY',
    implies: { MAIL_TRANSPORT: 'resend' },
    note: 'alone, it chooses the Resend transport (`MAIL_TRANSPORT=resend`)',
  },
  {
    name: 'DIFY_API_KEY',
    seeds: '000',
    means: 'DIFY_API_KEY',
    implies: { DIFY_API_URL: DIFY_CLOUD_URL },
    note: `without \`DIFY_API_URL\`, the app is on Dify Cloud (\`${DIFY_CLOUD_URL}\`)`,
  },
  {
    name: 'WECHAT_PAY_KEY',
    seeds: '003',
    means: 'WECHAT_PAY_API_V3_KEY',
    note: 'the 32-character APIv3 key of the merchant (WeChat Pay API v3 has no other key of that name)',
  },
  {
    name: 'DIFY_API_URL',
    seeds: '002',
    means: 'DIFY_API_URL',
    convert: withDifyVersion,
    note: 'a URL without a path (`https://api.dify.ai`) is given `/v1`; alone, without a key, it is where the Dify keys an admin sets later are sent',
  },
];

const URL_DEFAULTS: Record<UrlKind, { scheme: string; port: string }> = {
  mysql: { scheme: 'mysql', port: '3306' },
  postgres: { scheme: 'postgres', port: '5432' },
  redis: { scheme: 'redis', port: '6379' },
};

export interface SeedEnv {
  /** The source with every seed name read into the Tollgate setting it means. */
  env: Record<string, string | undefined>;
  /** Seed names that were set but not used, because the Tollgate setting was set too. */
  warnings: string[];
  /** Seed values that mean nothing (a duration that is none, a port that is not a number). */
  problems: string[];
}

/** Reads `source`'s seed names (SEED_NAMES) as Tollgate settings; the source is not changed. */
export function readSeedNames(source: Readonly<Record<string, string | undefined>>): SeedEnv {
  const given = (name: string) => (source[name]?.trim() ? source[name] : undefined);
  const read: Record<string, string> = {};
  const urls = new Map<UrlKind, { parts: Partial<Record<UrlPart, string>>; names: string[]; means: keyof Env }>();
  const warnings: string[] = [];
  const problems: string[] = [];
  for (const row of SEED_NAMES) {
    const value = given(row.name);
    if (value === undefined) continue;
    if (row.part) {
      const url = urls.get(row.part.of) ?? { parts: {}, names: [], means: row.means };
      url.parts[row.part.is] = value;
      url.names.push(row.name);
      urls.set(row.part.of, url);
      continue;
    }
    if (row.name !== row.means && given(row.means) !== undefined) {
      warnings.push(`${row.name} is ignored: ${row.means} is set`);
      continue;
    }
    try {
      read[row.means] = row.convert ? row.convert(value, row.name) : value;
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    for (const [setting, implied] of Object.entries(row.implies ?? {}))
      if (given(setting) === undefined) read[setting] = implied;
  }
  for (const [kind, url] of urls) {
    if (given(url.means) !== undefined || read[url.means] !== undefined) {
      warnings.push(`${url.names.join(', ')} ${url.names.length > 1 ? 'are' : 'is'} ignored: ${url.means} is set`);
    } else if (kind !== 'redis' && url.parts.database === undefined) {
      warnings.push(
        `${url.names.join(', ')} ${url.names.length > 1 ? 'are' : 'is'} ignored: without ${kind === 'mysql' ? 'DB_NAME' : 'DATABASE_NAME'} there is no database to use`,
      );
    } else {
      const port = (url.parts.port ?? URL_DEFAULTS[kind].port).trim();
      if (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)
        read[url.means] = composeUrl(kind, url.parts, port);
      else
        problems.push(
          `${url.names.find((name) => name.endsWith('_PORT'))!} must be a port number (got ${JSON.stringify(port)})`,
        );
    }
  }
  return { env: { ...source, ...read }, warnings, problems };
}

function composeUrl(kind: UrlKind, parts: Partial<Record<UrlPart, string>>, port: string): string {
  const user = parts.user === undefined ? '' : encodeURIComponent(parts.user);
  const password = parts.password === undefined ? '' : `:${encodeURIComponent(parts.password)}`;
  const credentials = user || password ? `${user}${password}@` : '';
  const database = parts.database === undefined ? '' : `/${encodeURIComponent(parts.database)}`;
  return `${URL_DEFAULTS[kind].scheme}://${credentials}${parts.host?.trim() ?? 'localhost'}:${port}${database}`;
}

/** `mysql+pymysql://…` → `mysql://…` (SQLAlchemy names its driver in the scheme). */
function withoutDriver(url: string): string {
  return url.replace(
    /^(mysql|postgres|postgresql)\+[\w-]+:\/\//i,
    (_all, scheme: string) => `${scheme.toLowerCase()}://`,
  );
}

/** Dify's API lives under /v1; seed 002 gives the bare origin and adds the version itself. */
function withDifyVersion(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return url; // the schema says what is wrong with it
  }
  return path === '/' || path === '' ? `${url.replace(/\/+$/, '')}/v1` : url;
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const UNITS: Record<string, string> = {
  '': 's',
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
  w: 'w',
  week: 'w',
  weeks: 'w',
};

/** A duration as the `ms`/jsonwebtoken libraries write it (`7d`, `15m`, `2 hours`), or bare seconds, in whole seconds. */
export function durationSeconds(value: string, name: string): string {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined)
    throw new Error(`${name} must be a duration such as 3600, 15m, 12h or 7d (got ${JSON.stringify(value)})`);
  return String(Math.round(Number(match[1]) * SECONDS[unit]!));
}
