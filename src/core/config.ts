import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Type, type Static } from 'typebox';
import Value from 'typebox/value';
import { readSeedNames } from './seed-env.ts';
import { makeOwnerOnlyDir } from './data-dir.ts';
import { readWeChatPay, type WeChatPaySettings } from './config-wechat-pay.ts';

/**
 * Every setting Tollgate reads from the environment, declared once. Values arrive as strings;
 * they are converted, defaulted and checked here, and a bad one stops the server with its name.
 * The seeds' own names for these settings (seed-env.ts) are read first.
 */
const Int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ default: def, minimum: min, maximum: max });

/** `addr@host` or `Name <addr@host>`. */
const MAILBOX = '^([^<>@]*<[^\\s<>@]+@[^\\s<>@]+>|[^\\s<>@]+@[^\\s<>@]+)$';

export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  PORT: Int(3000, 0, 65535),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  /** The built web console (docs/console.md); unset: this checkout's web/dist. */
  CONSOLE_DIR: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_URL: Type.String({ default: 'sqlite:./data/tollgate.db', pattern: '^(sqlite:|postgres(ql)?://|mysql://)' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_PREFIX: Type.String({ default: 'tollgate:' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 1 })), // under 32 characters: refused in production, a warning elsewhere
  MASTER_KEY: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
  ACCESS_TOKEN_TTL: Int(3600, 60),
  REFRESH_TOKEN_TTL: Int(30 * 24 * 3600, 300),
  REFRESH_TOKEN_GRACE: Int(5, 0, 60),
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 50 })),
  CORS_ORIGIN: Type.String({ default: '' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  BODY_LIMIT: Int(1024 * 1024, 1024),
  MAIL_TRANSPORT: Type.Union([Type.Literal('log'), Type.Literal('smtp'), Type.Literal('resend')], { default: 'log' }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  RESEND_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  RESEND_BASE_URL: Type.String({ default: 'https://api.resend.com', pattern: '^https?://' }),
  FROM_EMAIL: Type.String({ default: 'Tollgate <noreply@tollgate.local>', pattern: MAILBOX }),
  REPLY_TO_EMAIL: Type.Optional(Type.String({ pattern: MAILBOX })),
  MAIL_TIMEOUT: Int(15, 1, 300),
  EMAIL_CODE_TTL: Int(300, 30),
  EMAIL_CODE_COOLDOWN: Int(60, 0),
  EMAIL_CODE_MAX_ATTEMPTS: Int(5, 1),
  EMAIL_DAILY_CAP_PER_EMAIL: Int(10, 1),
  EMAIL_DAILY_CAP_PER_IP: Int(50, 1),
  CAPTCHA_TTL: Int(600, 30),
  LOGIN_CAPTCHA_AFTER: Int(3, 1),
  LOGIN_LOCK_AFTER: Int(5, 1),
  LOGIN_LOCK_MINUTES: Int(15, 1),
  LOGIN_FAILURE_WINDOW: Int(3600, 60),
  SIGNUP_BONUS: Int(1000, 0),
  SIGNUP_BONUS_PER_IP_DAILY: Int(3, 0),
  CREDIT_HOLD_TTL: Int(900, 10),
  HOLD_SWEEP_INTERVAL: Int(60, 1),
  CHECKIN_TZ: Type.String({ default: 'Asia/Shanghai', minLength: 1 }),
  CHECKIN_BASE: Int(10, 0),
  CHECKIN_STREAK_STEP: Int(5, 0),
  CHECKIN_STREAK_CAP: Int(0, 0),
  CHECKIN_MILESTONES: Type.String({ default: '7:50,15:100,30:200', pattern: '^$|^\\d+:\\d+(,\\d+:\\d+)*$' }),
  REDEEM_MAX_FAILURES_PER_USER: Int(10, 1),
  REDEEM_MAX_FAILURES_PER_IP: Int(30, 1),
  REDEEM_FAILURE_WINDOW: Int(3600, 60),
  API_KEY_GUESS_MAX_PER_IP: Int(30, 1),
  API_KEY_GUESS_WINDOW: Int(600, 10),
  ADMIN_API_KEY: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  ADMIN_KEY_MAX_FAILURES_PER_IP: Int(10, 1),
  ADMIN_KEY_FAILURE_WINDOW: Int(900, 60),
  OPENAI_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  OPENAI_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DIFY_API_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  DIFY_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DIFY_APP_MODE: Type.Union(
    ['chat', 'agent-chat', 'advanced-chat', 'completion', 'workflow'].map((m) => Type.Literal(m)),
    { default: 'chat' },
  ),
  DIFY_PRICE_INPUT: Type.Number({ default: 1, minimum: 0, maximum: 1_000_000 }),
  DIFY_PRICE_OUTPUT: Type.Number({ default: 2, minimum: 0, maximum: 1_000_000 }),
  DIFY_PRICE_PER_CALL: Type.Number({ default: 1, minimum: 0, maximum: 1_000_000 }),
  DIFY_MAX_CALL_COST: Int(20, 1, 1_000_000),
  DIFY_UPLOAD_LIMIT: Int(15 * 1024 * 1024, 1024),
  CREDITS_PER_USD: Int(1000, 1),
  PRICE_MULTIPLIER_USER: Type.Number({ default: 1, minimum: 0, maximum: 1000 }),
  PRICE_MULTIPLIER_ADMIN: Type.Number({ default: 1, minimum: 0, maximum: 1000 }),
  RATE_LIMIT_USER_RPM: Int(60),
  RATE_LIMIT_USER_TPM: Int(0),
  RATE_LIMIT_USER_CONCURRENCY: Int(10),
  RATE_LIMIT_USER_RPD: Int(0),
  RATE_LIMIT_ADMIN_RPM: Int(0),
  RATE_LIMIT_ADMIN_TPM: Int(0),
  RATE_LIMIT_ADMIN_CONCURRENCY: Int(0),
  RATE_LIMIT_ADMIN_RPD: Int(0),
  CHANNEL_FAILURE_THRESHOLD: Int(3, 1),
  CHANNEL_PROBE_INTERVAL: Int(60, 1),
  CACHE_RECONCILE_SECONDS: Int(60, 0),
  SHUTDOWN_DRAIN_SECONDS: Int(25, 0, 3600),
  UPSTREAM_MAX_ATTEMPTS: Int(3, 1, 10),
  UPSTREAM_HEADERS_TIMEOUT: Int(600, 1),
  UPSTREAM_BODY_TIMEOUT: Int(300, 1),
  DEFAULT_MAX_OUTPUT_TOKENS: Int(4096, 1),
  GATEWAY_BODY_LIMIT: Int(20 * 1024 * 1024, 1024),
  USAGE_RETENTION_DAYS: Int(90, 0),
  WECHAT_APPID: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_API_BASE_URL: Type.String({ default: 'https://api.weixin.qq.com', pattern: '^https?://' }),
  WECHAT_TIMEOUT: Int(10, 1, 120),
  // WeChat Pay API v3 (config-wechat-pay.ts checks them together).
  WECHAT_PAY_MCH_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  WECHAT_PAY_APPID: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  WECHAT_PAY_SERIAL: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_PAY_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_PAY_API_V3_KEY: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_PAY_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_PAY_PUBLIC_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  WECHAT_PAY_NOTIFY_URL: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  WECHAT_PAY_REFUND_NOTIFY_URL: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  WECHAT_PAY_BASE_URL: Type.String({ default: 'https://api.mch.weixin.qq.com', pattern: '^https?://' }),
  WECHAT_PAY_TIMEOUT: Int(10, 1, 120),
  // Orders (docs/payments.md): how long an unpaid order may be paid, how often pending ones are checked.
  ORDER_EXPIRE_MINUTES: Int(30, 1, 7 * 24 * 60),
  ORDER_RECONCILE_INTERVAL: Int(30, 1, 3600),
  ORDER_QUERY_AFTER: Int(60, 0, 86_400),
  ORDER_MAX_PENDING_PER_USER: Int(20, 1, 1000),
  /** `code:credits:fen[:CUR:amount]`, comma-separated: the credit packs on sale (docs/payments.md). */
  CREDIT_PACKS: Type.String({
    default: 'small:1000:1000:USD:150,medium:5500:5000:USD:750,large:12000:10000:USD:1500',
    pattern:
      '^$|^[a-z0-9_-]{1,32}:\\d{1,9}:\\d{1,9}(:[A-Z]{3}:\\d{1,9})?(,[a-z0-9_-]{1,32}:\\d{1,9}:\\d{1,9}(:[A-Z]{3}:\\d{1,9})?)*$',
  }),
  RECHARGE_CREDITS_PER_CNY: Int(100, 0, 1_000_000),
  RECHARGE_MIN_FEN: Int(100, 1, 100_000_000),
  RECHARGE_MAX_FEN: Int(100_000, 1, 100_000_000),
  // Stripe (docs/payments.md): all of key, webhook secret and success URL, or none (Stripe off).
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ pattern: '^(sk|rk)_[A-Za-z0-9_]+$' })),
  STRIPE_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^whsec_\\S+$' })),
  STRIPE_API_BASE_URL: Type.String({ default: 'https://api.stripe.com', pattern: '^https?://' }),
  STRIPE_CURRENCY: Type.String({ default: 'usd', pattern: '^[A-Za-z]{3}$' }),
  STRIPE_SUCCESS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  STRIPE_CANCEL_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  STRIPE_TIMEOUT: Int(30, 1, 120),
  // Object storage (docs/storage.md): local disk under DATA_DIR/uploads, or any S3-compatible store.
  STORAGE_DRIVER: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('s3')])),
  /** Where object URLs start; default `/uploads` (Tollgate serves them), or R2_PUBLIC_URL with s3. */
  STORAGE_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^(https?://|/)' })),
  R2_ACCOUNT_ID: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  R2_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  R2_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  R2_BUCKET_NAME: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' })),
  R2_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Another S3-compatible endpoint (MinIO, AWS) instead of R2's, which R2_ACCOUNT_ID makes. */
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_REGION: Type.String({ default: 'auto', minLength: 1 }),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false }),
  UPLOAD_MAX_BYTES: Int(10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  UPLOAD_MAX_PIXELS: Int(40_000_000, 1, 1_000_000_000),
  CHARACTER_MAX_PHOTOS: Int(10, 1, 100),
  // Image jobs (docs/image-jobs.md): the job API seed 003 proxies, and how jobs are followed.
  THIRD_PARTY_API_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  THIRD_PARTY_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  IMAGE_JOB_TIMEOUT: Int(600, 10, 86_400),
  IMAGE_JOB_POLL_INTERVAL: Int(5, 1, 3600),
  IMAGE_JOB_UPSTREAM_TIMEOUT: Int(30, 1, 600),
});

export type Env = Static<typeof EnvSchema>;

export interface Config extends Env {
  readonly jwtSecret: string;
  readonly masterKey: string;
  /**
   * The key `X-Admin-Key` is compared with: ADMIN_API_KEY when it is strong enough (see
   * checkAdminApiKey), otherwise undefined, and the header is then refused (docs/admin.md).
   */
  readonly adminApiKey: string | undefined;
  /** STORAGE_DRIVER, or `s3` when it is unset and seed 003's R2_* settings are complete (docs/storage.md). */
  readonly storageDriver: 'local' | 's3';
  readonly isProduction: boolean;
  /** WeChat Pay, when configured (all of WECHAT_PAY_*), with its keys read. */
  readonly wechatPay: WeChatPaySettings | undefined;
  /** Said in the log at start: settings that work but should change, seed names that were not used. */
  readonly warnings: readonly string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Values never echoed in an error message; URLs are shown with their credentials masked. */
const SECRET_VARS = new Set([
  'JWT_SECRET',
  'MASTER_KEY',
  'ADMIN_PASSWORD',
  'RESEND_API_KEY',
  'OPENAI_API_KEY',
  'DIFY_API_KEY',
  'THIRD_PARTY_API_KEY',
  'ADMIN_API_KEY',
  'WECHAT_SECRET',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'R2_SECRET_ACCESS_KEY',
  'WECHAT_PAY_PRIVATE_KEY',
  'WECHAT_PAY_API_V3_KEY',
]);
const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

interface FieldSchema {
  type?: string;
  anyOf?: { const?: unknown }[];
}

/** Reads the environment into a checked, frozen Config; throws ConfigError naming the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const seedNames = readSeedNames(source);
  const raw: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = seedNames.env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const converted = Value.Default(EnvSchema, convert(raw));
  const problems = [...seedNames.problems, ...describeErrors(converted, raw)];
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  const env = converted as Env;
  checkCombinations(env);
  const storage = checkStorage(env);
  const wechatPay = readWeChatPay(env);
  const isProduction = env.NODE_ENV === 'production';
  const adminKey = checkAdminApiKey(env, isProduction);
  const warnings = [
    ...seedNames.warnings,
    ...checkJwtSecretLength(env, isProduction),
    ...adminKey.warnings,
    ...storage.warnings,
    ...wechatPay.warnings,
  ];
  const secrets = resolveSecrets(env, isProduction);
  if (isProduction && raw.MAIL_TRANSPORT === undefined) {
    throw new ConfigError(
      'Invalid configuration: NODE_ENV=production needs a real mail transport: set MAIL_TRANSPORT=smtp with SMTP_URL, or MAIL_TRANSPORT=resend with RESEND_API_KEY (or MAIL_TRANSPORT=log explicitly to keep sign-up and reset codes in DATA_DIR/outbox.jsonl)',
    );
  }
  return Object.freeze({
    ...env,
    ...secrets,
    adminApiKey: adminKey.key,
    storageDriver: storage.driver,
    isProduction,
    wechatPay: wechatPay.settings,
    warnings: Object.freeze(warnings),
  });
}

function fieldSchema(key: string): FieldSchema | undefined {
  return (EnvSchema.properties as Record<string, FieldSchema | undefined>)[key];
}

/**
 * Strict conversion: an integer is digits only (`1.5`, `0x10` and `1e3` stay text and fail),
 * a boolean is true/false, 1/0, yes/no or on/off. Anything else is left for the schema to reject.
 */
function convert(raw: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const type = fieldSchema(key)?.type;
    const text = value.trim();
    if (type === 'integer' && /^\d+$/.test(text)) out[key] = Number(text);
    else if (type === 'number' && /^\d+(\.\d+)?$/.test(text)) out[key] = Number(text);
    else if (type === 'boolean' && Object.hasOwn(BOOLEANS, text.toLowerCase())) out[key] = BOOLEANS[text.toLowerCase()];
    else out[key] = value;
  }
  return out;
}

/** One sentence per bad variable, in schema order: its name, what it must be, and what it got. */
function describeErrors(value: unknown, raw: Record<string, string>): string[] {
  const byKey = new Map<string, string>();
  for (const error of Value.Errors(EnvSchema, value)) {
    const key = error.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    if (!key || byKey.has(key)) continue;
    const allowed = fieldSchema(key)?.anyOf?.map((option) => String(option.const));
    const rule = allowed ? `must be one of ${allowed.join(', ')}` : error.message;
    byKey.set(key, `${key} ${rule} (got ${shown(key, raw[key])})`);
  }
  return [...byKey.values()];
}

function shown(key: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (SECRET_VARS.has(key)) return `a value of ${value.length} characters`;
  return JSON.stringify(maskUrl(value));
}

/** A URL fit for a log line or an error message: any user:password@ is replaced by ***@. */
export function maskUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

function checkCombinations(env: Env): void {
  if (env.MAIL_TRANSPORT === 'smtp' && !env.SMTP_URL) {
    throw new ConfigError('Invalid configuration: SMTP_URL is required when MAIL_TRANSPORT=smtp');
  }
  if (env.MAIL_TRANSPORT === 'resend' && !env.RESEND_API_KEY) {
    throw new ConfigError('Invalid configuration: RESEND_API_KEY is required when MAIL_TRANSPORT=resend');
  }
  if (Boolean(env.OPENAI_BASE_URL) !== Boolean(env.OPENAI_API_KEY)) {
    throw new ConfigError('Invalid configuration: OPENAI_BASE_URL and OPENAI_API_KEY must be set together');
  }
  if (Boolean(env.WECHAT_APPID) !== Boolean(env.WECHAT_SECRET)) {
    throw new ConfigError('Invalid configuration: WECHAT_APPID and WECHAT_SECRET must be set together');
  }
  checkStripe(env);
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    throw new ConfigError('Invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (env.RECHARGE_MIN_FEN > env.RECHARGE_MAX_FEN) {
    throw new ConfigError('Invalid configuration: RECHARGE_MIN_FEN must not exceed RECHARGE_MAX_FEN');
  }
  if (env.LOGIN_CAPTCHA_AFTER > env.LOGIN_LOCK_AFTER) {
    throw new ConfigError('Invalid configuration: LOGIN_CAPTCHA_AFTER must not exceed LOGIN_LOCK_AFTER');
  }
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: env.CHECKIN_TZ });
  } catch {
    throw new ConfigError(
      `Invalid configuration: CHECKIN_TZ must be an IANA time zone such as Asia/Shanghai or UTC (got ${JSON.stringify(env.CHECKIN_TZ)})`,
    );
  }
}

/** Stripe takes payments only when fully configured; a part of its settings stops the start naming the rest. */
function checkStripe(env: Env): void {
  const required = { STRIPE_SECRET_KEY: env.STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET };
  const given = Object.entries(required).filter(([, value]) => value);
  const partly = given.length > 0 || Boolean(env.STRIPE_SUCCESS_URL) || Boolean(env.STRIPE_CANCEL_URL);
  if (!partly) return;
  const missing = [
    ...Object.entries(required)
      .filter(([, value]) => !value)
      .map(([name]) => name),
    ...(env.STRIPE_SUCCESS_URL ? [] : ['STRIPE_SUCCESS_URL']),
  ];
  if (missing.length > 0)
    throw new ConfigError(
      `Invalid configuration: Stripe is partly configured; also set ${missing.join(', ')} (or unset every STRIPE_* setting to leave Stripe off)`,
    );
  const path = new URL(env.STRIPE_API_BASE_URL).pathname.replace(/\/(v1\/?)?$/, '');
  if (path !== '')
    throw new ConfigError(
      `Invalid configuration: STRIPE_API_BASE_URL must be a scheme, host and port only, such as https://api.stripe.com (got ${JSON.stringify(maskUrl(env.STRIPE_API_BASE_URL))})`,
    );
}

/**
 * The storage driver: STORAGE_DRIVER, else `s3` when seed 003's R2 settings are complete (bucket, key
 * pair, account or endpoint: the seed's `.env` keeps storing in its bucket), else `local`. `s3` needs a
 * bucket, both keys or neither (then the AWS default chain), and an endpoint, an R2 account or an AWS region.
 */
function checkStorage(env: Env): { driver: 'local' | 's3'; warnings: string[] } {
  const r2Complete = Boolean(
    env.R2_BUCKET_NAME && env.R2_ACCESS_KEY_ID && env.R2_SECRET_ACCESS_KEY && (env.R2_ACCOUNT_ID || env.S3_ENDPOINT),
  );
  const driver = env.STORAGE_DRIVER ?? (r2Complete ? 's3' : 'local');
  const warnings: string[] = [];
  if (driver === 'local') {
    if (env.R2_BUCKET_NAME)
      warnings.push('R2_BUCKET_NAME is set but STORAGE_DRIVER=local: images are kept in DATA_DIR/uploads');
    return { driver, warnings };
  }
  const fail = (rule: string) => new ConfigError(`Invalid configuration: STORAGE_DRIVER=s3 needs ${rule}`);
  if (!env.R2_BUCKET_NAME) throw fail('R2_BUCKET_NAME (the bucket)');
  if (Boolean(env.R2_ACCESS_KEY_ID) !== Boolean(env.R2_SECRET_ACCESS_KEY))
    throw fail('R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY together');
  if (!env.S3_ENDPOINT && !env.R2_ACCOUNT_ID && env.S3_REGION === 'auto')
    throw fail('S3_ENDPOINT, R2_ACCOUNT_ID (Cloudflare R2) or S3_REGION (AWS)');
  if (!env.STORAGE_DRIVER) warnings.push('STORAGE_DRIVER is unset and R2_* are complete: images are stored in R2');
  return { driver, warnings };
}

/** A JWT_SECRET under 32 characters (seed 000's and 004's examples) stops production and is a warning elsewhere. */
function checkJwtSecretLength(env: Env, isProduction: boolean): string[] {
  if (!env.JWT_SECRET || env.JWT_SECRET.length >= 32) return [];
  const rule = `JWT_SECRET must be at least 32 characters when NODE_ENV=production (got a value of ${env.JWT_SECRET.length} characters)`;
  if (isProduction) throw new ConfigError(`Invalid configuration: ${rule}`);
  return [`${rule}; accepted outside production, but set a longer one`];
}

/** An ADMIN_API_KEY needs this many characters, and this many different ones (`aaaa…` is no key). */
export const ADMIN_API_KEY_MIN_LENGTH = 32;
const ADMIN_API_KEY_MIN_DISTINCT = 10;

/**
 * ADMIN_API_KEY opens every admin route, so a weak one (under 32 characters, or fewer than 10
 * different ones, as seed 003's example `your-admin-api-key`) stops a production start; elsewhere
 * Tollgate starts with a warning and the key is not accepted (X-Admin-Key is refused as if unset),
 * so the seed's example `.env` still starts without opening the back office to its published key.
 */
function checkAdminApiKey(env: Env, isProduction: boolean): { key: string | undefined; warnings: string[] } {
  const key = env.ADMIN_API_KEY;
  if (key === undefined) return { key: undefined, warnings: [] };
  const weak = key.length < ADMIN_API_KEY_MIN_LENGTH || new Set(key).size < ADMIN_API_KEY_MIN_DISTINCT;
  if (!weak) return { key, warnings: [] };
  const rule = `ADMIN_API_KEY must be at least ${ADMIN_API_KEY_MIN_LENGTH} characters with at least ${ADMIN_API_KEY_MIN_DISTINCT} different ones (got a value of ${key.length} characters); generate one with \`openssl rand -base64 48\``;
  if (isProduction) throw new ConfigError(`Invalid configuration: ${rule}`);
  return { key: undefined, warnings: [`${rule}; X-Admin-Key is refused until it is`] };
}

/**
 * JWT_SECRET and MASTER_KEY: required in production; elsewhere generated once into
 * DATA_DIR/secrets.json (mode 0600) so tokens and encrypted secrets survive restarts.
 */
function resolveSecrets(env: Env, isProduction: boolean): { jwtSecret: string; masterKey: string } {
  if (env.JWT_SECRET && env.MASTER_KEY) return { jwtSecret: env.JWT_SECRET, masterKey: env.MASTER_KEY };
  if (isProduction) {
    const missing = [env.JWT_SECRET ? undefined : 'JWT_SECRET', env.MASTER_KEY ? undefined : 'MASTER_KEY'].filter(
      Boolean,
    );
    throw new ConfigError(
      `Invalid configuration: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required when NODE_ENV=production`,
    );
  }
  const dir = resolve(env.DATA_DIR);
  const file = join(dir, 'secrets.json');
  const stored = readStoredSecrets(file);
  const generated = {
    jwtSecret: stored.jwtSecret ?? randomBytes(48).toString('base64url'),
    masterKey: stored.masterKey ?? randomBytes(32).toString('hex'),
  };
  if (generated.jwtSecret !== stored.jwtSecret || generated.masterKey !== stored.masterKey) {
    try {
      makeOwnerOnlyDir(dir);
      writeFileSync(file, JSON.stringify(generated, null, 2) + '\n', { mode: 0o600 });
      chmodSync(file, 0o600); // an existing file keeps its old mode on rewrite
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration: DATA_DIR ${dir} is not writable (${(error as Error).message}); set JWT_SECRET and MASTER_KEY or fix DATA_DIR`,
      );
    }
  }
  return { jwtSecret: env.JWT_SECRET ?? generated.jwtSecret, masterKey: env.MASTER_KEY ?? generated.masterKey };
}

function readStoredSecrets(file: string): { jwtSecret?: string; masterKey?: string } {
  if (!existsSync(file)) return {};
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `Invalid configuration: ${file} cannot be read (${(error as Error).message}); fix it, or remove it to generate new secrets (sessions and encrypted secrets are then lost)`,
    );
  }
  const { jwtSecret, masterKey } = (stored ?? {}) as { jwtSecret?: unknown; masterKey?: unknown };
  const valid =
    (jwtSecret === undefined || (typeof jwtSecret === 'string' && jwtSecret.length >= 32)) &&
    (masterKey === undefined || (typeof masterKey === 'string' && /^[0-9a-fA-F]{64}$/.test(masterKey)));
  if (!valid)
    throw new ConfigError(
      `Invalid configuration: ${file} holds a malformed jwtSecret or masterKey; fix it, or remove it to generate new secrets (sessions and encrypted secrets are then lost)`,
    );
  return { jwtSecret, masterKey };
}
