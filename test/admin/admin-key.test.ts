import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#core/config.ts';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  TEST_SECRETS,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { ADMIN_KEY, ADMIN_KEY_ENV, auditLog, withKey } from './helpers.ts';

const configWith = (env: Record<string, string>) =>
  loadConfig({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-cfg-')),
    MAIL_TRANSPORT: 'log',
    ...TEST_SECRETS,
    ...env,
  });

describe('ADMIN_API_KEY in the configuration', () => {
  it('production refuses a key under 32 characters, or with fewer than 10 different characters', () => {
    for (const weak of ['your-admin-api-key', 'a'.repeat(64), 'abababababababababababababababab']) {
      expect(() => configWith({ NODE_ENV: 'production', ADMIN_API_KEY: weak })).toThrow(ConfigError);
    }
    try {
      configWith({ NODE_ENV: 'production', ADMIN_API_KEY: 'your-admin-api-key' });
    } catch (error) {
      expect((error as Error).message).toMatch(/ADMIN_API_KEY must be at least 32 characters/);
      expect((error as Error).message).not.toContain('your-admin-api-key'); // a secret is never echoed
    }
  });

  it('outside production a weak key (seed 003 example) starts with a warning, and the key is not accepted', () => {
    const config = configWith({ ADMIN_API_KEY: 'your-admin-api-key' });
    expect(config.adminApiKey).toBeUndefined();
    expect(config.warnings.join('\n')).toMatch(/ADMIN_API_KEY must be at least 32 characters.*X-Admin-Key is refused/);
  });

  it('a strong key is the admin key, in production too; unset means none', () => {
    expect(configWith({ NODE_ENV: 'production', ADMIN_API_KEY: ADMIN_KEY }).adminApiKey).toBe(ADMIN_KEY);
    expect(configWith({}).adminApiKey).toBeUndefined();
  });
});

describe.each(backends())('X-Admin-Key on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let user: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { ...ADMIN_KEY_ENV, ADMIN_KEY_MAX_FAILURES_PER_IP: '3' } });
    admin = await adminToken(t);
    user = await registerUser(t);
  });
  afterAll(() => t.close());

  it('the right key is an admin on /api/admin routes, reading and changing, and its changes are attributed to the admin key', async () => {
    expect((await withKey(t.app, 'GET', '/api/admin/channels')).statusCode).toBe(200);
    const adjusted = await withKey(t.app, 'POST', `/api/admin/users/${user.id}/credits`, {
      body: { amount: 25, reason: 'goodwill' },
    });
    expect(adjusted.statusCode, adjusted.body).toBe(200);
    // The ledger names who adjusted: the admin key is nobody's account.
    const history = await withKey(t.app, 'GET', `/api/admin/users/${user.id}/credits/history`);
    expect(history.json<{ items: Array<{ type: string; reference?: string | null }> }>().items[0]).toMatchObject({
      type: 'admin_adjust',
    });
    const [row] = await auditLog(t.app, `targetId=${user.id}`);
    expect(row).toMatchObject({ actor: { kind: 'adminkey', userId: null }, target: { type: 'user', id: user.id } });
  });

  it('the key is not ambient: a cookie-less request changes state without X-Requested-With', async () => {
    const res = await withKey(t.app, 'PUT', '/api/admin/pricing/key-model', { body: { perRequest: 3 } });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a wrong key is 401 ADMIN_KEY_INVALID even next to an admin session: the key, once sent, is the credential', async () => {
    const wrong = await withKey(t.app, 'GET', '/api/admin/channels', { key: `${ADMIN_KEY}x` });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'ADMIN_KEY_INVALID' });
    const withSession = await withKey(t.app, 'GET', '/api/admin/channels', { key: 'nope', token: admin });
    expect(withSession.statusCode).toBe(401);
    const english = await withKey(t.app, 'GET', '/api/admin/channels', { key: 'nope', lang: 'en' });
    expect(english.json<{ message: string }>().message).toBe('The X-Admin-Key is wrong');
  });

  it('a user session with the right key is the admin key; a user session alone is 403; a user route ignores the key', async () => {
    expect((await withKey(t.app, 'GET', '/api/admin/channels', { token: user.accessToken })).statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/admin/channels', { token: user.accessToken })).statusCode).toBe(403);
    // A user route needs a user: the admin key is nobody.
    expect((await withKey(t.app, 'GET', '/api/user/profile')).statusCode).toBe(401);
  });

  it('wrong keys from one IP are limited (429 with Retry-After, even for the right key then); another IP is not', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await withKey(t.app, 'GET', '/api/admin/channels', { key: `guess-${i}`, ip })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const locked = await withKey(t.app, 'GET', '/api/admin/channels', { ip });
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ code: 'ADMIN_KEY_GUESSING' });
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await withKey(t.app, 'GET', '/api/admin/channels')).statusCode).toBe(200);
    // The lock ends with its window.
    t.clock.advance(t.config.ADMIN_KEY_FAILURE_WINDOW * 1000 + 1);
    expect((await withKey(t.app, 'GET', '/api/admin/channels', { ip })).statusCode).toBe(200);
  });

  it('parallel wrong keys from one IP cannot get more than the limit of 401 answers', async () => {
    const ip = freshIp();
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        withKey(t.app, 'GET', '/api/admin/channels', { key: `parallel-${i}`, ip }).then((r) => r.statusCode),
      ),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  });
});

describe('X-Admin-Key without ADMIN_API_KEY', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp(backends()[0], { env: { ...ADMIN_KEY_ENV, ADMIN_API_KEY: 'your-admin-api-key' } });
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  it('is refused 403 ADMIN_KEY_NOT_ENABLED, never passed over for the session beside it', async () => {
    for (const key of [ADMIN_KEY, 'your-admin-api-key', '']) {
      const res = await withKey(t.app, 'GET', '/api/admin/channels', { key, token: admin });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'ADMIN_KEY_NOT_ENABLED' });
    }
    expect((await call(t.app, 'GET', '/api/admin/channels', { token: admin })).statusCode).toBe(200);
  });
});
