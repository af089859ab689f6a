import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '#core/config.ts';
import type { App } from '#core/http/route-config.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends, call, freshEmail, freshIp, STRONG_PASSWORD } from '#test/helpers/test-app.ts';

const ADMIN_PASSWORD = 'Adm1nistrator';

async function login(app: App, email: string, password: string) {
  return call(app, 'POST', '/api/auth/login', { body: { email, password }, ip: freshIp() });
}

async function countUsers(app: App, email: string): Promise<number> {
  const rows = await app.services.database.db
    .selectFrom('users')
    .select('id')
    .where('email', '=', email.toLowerCase())
    .execute();
  return rows.length;
}

describe.each(backends())('first admin on $label', (backend) => {
  let shared: SharedBackend;
  beforeEach(async () => {
    shared = await createSharedBackend(backend);
  });
  afterEach(() => shared.close());

  it('ADMIN_EMAIL/ADMIN_PASSWORD create an admin at start who can sign in', async () => {
    const email = freshEmail('Admin');
    const app = await shared.start({ ADMIN_EMAIL: email.toUpperCase(), ADMIN_PASSWORD });
    const res = await login(app, email, ADMIN_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ email: email.toLowerCase(), role: 'admin' });
    const profile = await call(app, 'GET', '/api/user/profile', { token: res.json().access_token });
    expect(profile.json()).toMatchObject({ email: email.toLowerCase(), role: 'admin' });
  });

  it('a second start neither duplicates the admin nor changes its password', async () => {
    const email = freshEmail('admin');
    await shared.start({ ADMIN_EMAIL: email, ADMIN_PASSWORD });
    const again = await shared.start({ ADMIN_EMAIL: email, ADMIN_PASSWORD: 'Ch4ngedPassword' });
    expect(await countUsers(again, email)).toBe(1);
    expect((await login(again, email, ADMIN_PASSWORD)).statusCode).toBe(200);
    expect((await login(again, email, 'Ch4ngedPassword')).statusCode).toBe(401);
  });

  it('instances starting side by side make exactly one admin', async () => {
    const email = freshEmail('admin-race');
    const apps = await Promise.all([1, 2, 3].map(() => shared.start({ ADMIN_EMAIL: email, ADMIN_PASSWORD })));
    expect(await countUsers(apps[0]!, email)).toBe(1);
    const res = await login(apps[2]!, email, ADMIN_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.json().user.role).toBe('admin');
  });

  it('an existing plain user with that email is promoted and keeps their own password', async () => {
    const plain = await shared.start();
    const email = freshEmail('promote');
    const ip = freshIp();
    expect((await call(plain, 'POST', '/api/auth/send-code', { body: { email }, ip })).statusCode).toBe(200);
    const lines = readFileSync(join(shared.dataDir, 'outbox.jsonl'), 'utf8').trim().split('\n');
    const code = /\b(\d{6})\b/.exec((JSON.parse(lines.at(-1)!) as { text: string }).text)![1]!;
    const registered = await call(plain, 'POST', '/api/auth/register', {
      body: { email, password: STRONG_PASSWORD, username: 'plain', code },
      ip,
    });
    expect(registered.json().user.role).toBe('user');

    const app = await shared.start({ ADMIN_EMAIL: email, ADMIN_PASSWORD });
    expect(await countUsers(app, email)).toBe(1);
    const res = await login(app, email, STRONG_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ id: registered.json().user.id, role: 'admin' });
    expect((await login(app, email, ADMIN_PASSWORD)).statusCode).toBe(401);
  });

  it.each([
    ['without an upper-case letter', 'adm1nistrator'],
    ['without a digit', 'Administrator'],
    ['too short', 'Ad1n'],
    ['too long', `Ad1n${'x'.repeat(60)}`],
  ])('an ADMIN_PASSWORD %s stops start-up, naming ADMIN_PASSWORD, and creates nobody', async (_label, password) => {
    const email = freshEmail('weak');
    let failure: unknown;
    await shared.start({ ADMIN_EMAIL: email, ADMIN_PASSWORD: password }).catch((error: unknown) => {
      failure = error;
    });
    expect(failure).toBeInstanceOf(ConfigError);
    const message = (failure as Error).message;
    expect(message).toContain('ADMIN_PASSWORD');
    expect(message).not.toContain(password);
    const app = await shared.start();
    expect(await countUsers(app, email)).toBe(0);
  });
});
