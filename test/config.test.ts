import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#core/config.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** loadConfig's ConfigError message, or a failure when it does not throw one. */
function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('fills in the documented defaults', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS });
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'sqlite:./data/tollgate.db',
      MAIL_TRANSPORT: 'log',
      FROM_EMAIL: 'Tollgate <noreply@tollgate.local>',
      RESEND_BASE_URL: 'https://api.resend.com',
      MAIL_TIMEOUT: 15,
      CORS_ORIGIN: '',
      TRUST_PROXY: false,
      BODY_LIMIT: 1024 * 1024,
      EMAIL_CODE_TTL: 300,
      EMAIL_CODE_COOLDOWN: 60,
      CAPTCHA_TTL: 600,
      LOGIN_CAPTCHA_AFTER: 3,
      LOGIN_LOCK_AFTER: 5,
      LOGIN_LOCK_MINUTES: 15,
      DIFY_MAX_CALL_COST: 20,
      isProduction: false,
    });
    expect(config.REDIS_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('converts text to numbers and booleans, and treats an empty value as unset', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      ...TEST_SECRETS,
      PORT: '8080',
      BODY_LIMIT: '2048',
      TRUST_PROXY: 'true',
      HOST: '',
      LOG_LEVEL: 'warn',
      DATABASE_URL: 'postgres://u:p@db:5432/tollgate',
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: 'smtp://mailer:secret@smtp.example.com:587',
    });
    expect(config.PORT).toBe(8080);
    expect(config.BODY_LIMIT).toBe(2048);
    expect(config.TRUST_PROXY).toBe(true);
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.LOG_LEVEL).toBe('warn');
    expect(config.DATABASE_URL).toBe('postgres://u:p@db:5432/tollgate');
    expect(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, DIFY_MAX_CALL_COST: '150' }).DIFY_MAX_CALL_COST).toBe(
      150,
    );
    expect(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, TRUST_PROXY: '0' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, FROM_EMAIL: 'noreply@example.com' }).FROM_EMAIL).toBe(
      'noreply@example.com',
    );
    expect(
      loadConfig({ DATA_DIR: tempDir(), ...TEST_SECRETS, FROM_EMAIL: '"Tollgate 网关" <noreply@example.com>' })
        .FROM_EMAIL,
    ).toBe('"Tollgate 网关" <noreply@example.com>');
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'integer'],
    [{ PORT: '70000' }, 'PORT', '65535'],
    [{ PORT: '1.5' }, 'PORT', 'integer'],
    [{ BODY_LIMIT: '0x10' }, 'BODY_LIMIT', 'integer'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', 'boolean'],
    [{ DATABASE_URL: 'foo' }, 'DATABASE_URL', '"foo"'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL', 'localhost:6379'],
    [{ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'Sup3rSecret' }, 'ADMIN_EMAIL', 'email'],
    [{ FROM_EMAIL: 'Tollgate' }, 'FROM_EMAIL', '"Tollgate"'],
    [{ FROM_EMAIL: 'Tollgate <no reply@x.com>' }, 'FROM_EMAIL', 'no reply'],
    [{ MAIL_TIMEOUT: '0' }, 'MAIL_TIMEOUT', '1'],
    [{ DIFY_MAX_CALL_COST: '0' }, 'DIFY_MAX_CALL_COST', '1'],
    [{ DIFY_MAX_CALL_COST: '2.5' }, 'DIFY_MAX_CALL_COST', 'integer'],
    [{ DIFY_MAX_CALL_COST: 'lots' }, 'DIFY_MAX_CALL_COST', 'integer'],
  ])('rejects %j, naming %s', (env, variable, detail) => {
    const message = configError({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env });
    expect(message).toContain(variable);
    expect(message).toContain(detail);
  });

  it.each([
    [{ MAIL_TRANSPORT: 'fax' }, 'MAIL_TRANSPORT must be one of log, smtp, resend', '"fax"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent', '"loud"'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be one of development, production, test', '"staging"'],
  ])('lists the allowed values for a choice: %j', (env, rule, got) => {
    const message = configError({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env });
    expect(message).toContain(rule);
    expect(message).toContain(got);
  });

  it('names every bad variable at once', () => {
    const message = configError({ DATA_DIR: tempDir(), ...TEST_SECRETS, PORT: 'abc', MAIL_TRANSPORT: 'fax' });
    expect(message).toContain('PORT');
    expect(message).toContain('MAIL_TRANSPORT');
  });

  it.each([
    [{ ADMIN_EMAIL: 'admin@example.com' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'Sup3rSecret' }, 'ADMIN_EMAIL'],
    [{ MAIL_TRANSPORT: 'smtp' }, 'SMTP_URL'],
    [{ MAIL_TRANSPORT: 'resend' }, 'RESEND_API_KEY'],
    [{ LOGIN_CAPTCHA_AFTER: '6', LOGIN_LOCK_AFTER: '5' }, 'LOGIN_CAPTCHA_AFTER'],
  ])('rejects the combination %j, naming %s', (env, variable) => {
    expect(configError({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env })).toContain(variable);
  });

  it('never repeats a secret in its message', () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ NODE_ENV: 'production', JWT_SECRET: 'hunter2-is-too-short' }, 'JWT_SECRET', 'hunter2'],
      [{ MASTER_KEY: 'hunter2-not-hex' }, 'MASTER_KEY', 'hunter2'],
      [{ ADMIN_EMAIL: 'a@example.com', ADMIN_PASSWORD: 'hunter2' }, 'ADMIN_PASSWORD', 'hunter2'],
      [{ SMTP_URL: 'smtx://mailer:hunter2@smtp.example.com' }, 'SMTP_URL', 'hunter2'],
      [{ DATABASE_URL: 'postgress://app:hunter2@db/tollgate' }, 'DATABASE_URL', 'hunter2'],
    ];
    for (const [env, variable, secret] of cases) {
      const message = configError({ DATA_DIR: tempDir(), ...TEST_SECRETS, ...env });
      expect(message).toContain(variable);
      expect(message).not.toContain(secret);
    }
  });
});

describe('mail in production', () => {
  const production = (env: Record<string, string>) => ({
    NODE_ENV: 'production',
    DATA_DIR: tempDir(),
    ...TEST_SECRETS,
    ...env,
  });

  it('refuses to start with the log transport by default, naming the settings to set', () => {
    const message = configError(production({}));
    expect(message).toContain('NODE_ENV=production');
    for (const setting of [
      'MAIL_TRANSPORT=smtp',
      'SMTP_URL',
      'MAIL_TRANSPORT=resend',
      'RESEND_API_KEY',
      'MAIL_TRANSPORT=log',
    ])
      expect(message).toContain(setting);
  });

  it('starts with a real transport, or with MAIL_TRANSPORT=log set explicitly', () => {
    expect(
      loadConfig(production({ MAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtp://mail.example.com:587' })).MAIL_TRANSPORT,
    ).toBe('smtp');
    expect(loadConfig(production({ MAIL_TRANSPORT: 'resend', RESEND_API_KEY: 're_test' })).MAIL_TRANSPORT).toBe(
      'resend',
    );
    expect(loadConfig(production({ MAIL_TRANSPORT: 'log' })).MAIL_TRANSPORT).toBe('log');
  });

  it('outside production the log transport stays the default', () => {
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: tempDir(), ...TEST_SECRETS }).MAIL_TRANSPORT).toBe('log');
  });
});

describe('secrets', () => {
  it('in production, a missing JWT_SECRET or MASTER_KEY stops start-up and nothing is generated', () => {
    const dir = tempDir();
    expect(configError({ NODE_ENV: 'production', DATA_DIR: dir, MASTER_KEY: TEST_SECRETS.MASTER_KEY })).toMatch(
      /JWT_SECRET.*production/,
    );
    expect(configError({ NODE_ENV: 'production', DATA_DIR: dir, JWT_SECRET: TEST_SECRETS.JWT_SECRET })).toMatch(
      /MASTER_KEY.*production/,
    );
    const both = configError({ NODE_ENV: 'production', DATA_DIR: dir });
    expect(both).toContain('JWT_SECRET');
    expect(both).toContain('MASTER_KEY');
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);

    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dir, MAIL_TRANSPORT: 'log', ...TEST_SECRETS });
    expect(config.isProduction).toBe(true);
    expect(config.jwtSecret).toBe(TEST_SECRETS.JWT_SECRET);
    expect(config.masterKey).toBe(TEST_SECRETS.MASTER_KEY);
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });

  it('outside production, generates them into DATA_DIR/secrets.json (0600) and reuses them on the next start', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const first = loadConfig({ DATA_DIR: dir });
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.masterKey).toMatch(/^[0-9a-f]{64}$/);

    const file = join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, '..')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ jwtSecret: first.jwtSecret, masterKey: first.masterKey });

    const second = loadConfig({ DATA_DIR: dir });
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(second.masterKey).toBe(first.masterKey);

    const elsewhere = loadConfig({ DATA_DIR: tempDir() });
    expect(elsewhere.jwtSecret).not.toBe(first.jwtSecret);
    expect(elsewhere.masterKey).not.toBe(first.masterKey);
  });

  it('a value from the environment wins over the stored one', () => {
    const dir = tempDir();
    const generated = loadConfig({ DATA_DIR: dir });
    const config = loadConfig({ DATA_DIR: dir, JWT_SECRET: TEST_SECRETS.JWT_SECRET });
    expect(config.jwtSecret).toBe(TEST_SECRETS.JWT_SECRET);
    expect(config.masterKey).toBe(generated.masterKey);
  });

  it('a damaged secrets.json is a ConfigError naming the file, and is left as it was', () => {
    const dir = tempDir();
    const file = join(dir, 'secrets.json');
    writeFileSync(file, '{"jwtSecret": ');
    const message = configError({ DATA_DIR: dir });
    expect(message).toContain(file);
    expect(readFileSync(file, 'utf8')).toBe('{"jwtSecret": ');

    writeFileSync(file, JSON.stringify({ jwtSecret: 'short', masterKey: 'nothex' }));
    expect(configError({ DATA_DIR: dir })).toContain(file);
  });
});
