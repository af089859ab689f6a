import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends, call, registerUser, type RegisteredUser, type TestApp } from '#test/helpers/test-app.ts';
import { ADMIN_KEY_ENV, withKey } from './helpers.ts';

/**
 * Three instances on one database and one Redis: an admin's change made on one instance applies to
 * the next request on every other, though each had the user's API key cached.
 */
const shared = backends().filter((b) => b.kv === 'redis');

// Without Redis there is no shared backend: the file says so instead of finding no test. CI requires
// every service (test/required-services.ts), so there this never skips.
if (shared.length === 0) it.skip('needs TEST_REDIS_URL (and TEST_POSTGRES_URL, TEST_MYSQL_URL)', () => {});

describe.each(shared)('admin changes across instances ($label)', (backend) => {
  let place: SharedBackend;
  let apps: [App, App, App];
  let asTestApp: TestApp;
  beforeAll(async () => {
    place = await createSharedBackend(backend);
    const first = await place.start(ADMIN_KEY_ENV);
    apps = [first, await place.start(ADMIN_KEY_ENV), await place.start(ADMIN_KEY_ENV)];
    const outbox = () => readFileSync(join(place.dataDir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean);
    asTestApp = {
      app: first,
      lastCode: (email: string) =>
        (
          JSON.parse(
            outbox()
              .filter((line) => line.includes(email))
              .at(-1)!,
          ) as { text: string }
        ).text.match(/\b(\d{6})\b/)![1]!,
    } as unknown as TestApp;
  });
  afterAll(() => place.close());

  /** Resolves when `app` has heard `user:<id>` on the invalidation bus. */
  const heard = (app: App, userId: string) =>
    new Promise<void>((resolve) =>
      app.services.bus.subscribe((topic) => {
        if (topic === `user:${userId}`) resolve();
      }),
    );
  const withCachedKey = async (): Promise<{ user: RegisteredUser; key: string }> => {
    const user = await registerUser(asTestApp);
    const key = (await call(apps[0], 'POST', '/api/keys', { token: user.accessToken, body: { name: 'k' } })).json<{
      key: string;
    }>().key;
    for (const app of apps) expect((await call(app, 'GET', '/v1/models', { token: key })).statusCode).toBe(200);
    return { user, key };
  };
  const status = async (app: App, url: string, token: string) => (await call(app, 'GET', url, { token })).statusCode;

  it('disabled on one instance: refused by the others at the next request (sessions and cached keys); enabled on another', async () => {
    const { user, key } = await withCachedKey();
    const told = Promise.all([heard(apps[1], user.id), heard(apps[2], user.id)]);
    expect((await withKey(apps[0], 'POST', `/api/admin/users/${user.id}/disable`)).statusCode).toBe(200);
    await told;
    for (const app of apps) {
      expect(await status(app, '/api/user/profile', user.accessToken)).toBe(401);
      expect(await status(app, '/v1/models', key)).toBe(403);
    }
    const again = Promise.all([heard(apps[0], user.id), heard(apps[2], user.id)]);
    expect((await withKey(apps[1], 'POST', `/api/admin/users/${user.id}/enable`)).statusCode).toBe(200);
    await again;
    for (const app of apps) expect(await status(app, '/v1/models', key)).toBe(200);
  });

  it('demoted on one instance: no longer an admin on the others, at once', async () => {
    const { user } = await withCachedKey();
    await withKey(apps[0], 'PUT', `/api/admin/users/${user.id}/role`, { body: { role: 'admin' } });
    for (const app of apps) expect(await status(app, '/api/admin/users', user.accessToken)).toBe(200);
    await withKey(apps[1], 'PUT', `/api/admin/users/${user.id}/role`, { body: { role: 'user' } });
    for (const app of apps) expect(await status(app, '/api/admin/users', user.accessToken)).toBe(403);
  });

  it('deleted on one instance: sessions and keys refused by every instance', async () => {
    const { user, key } = await withCachedKey();
    const told = Promise.all([heard(apps[0], user.id), heard(apps[1], user.id)]);
    expect((await withKey(apps[2], 'DELETE', `/v1/admin/users/${user.id}`)).statusCode).toBe(200);
    await told;
    for (const app of apps) {
      expect(await status(app, '/api/user/profile', user.accessToken)).toBe(401);
      expect(await status(app, '/v1/models', key)).toBe(401);
    }
  });

  it('wrong admin keys are counted across instances: one IP is locked for all of them', async () => {
    const ip = '203.0.113.77';
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await withKey(apps[i % 3]!, 'GET', '/api/admin/users', { key: `wrong-${i}`, ip })).statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });
});
