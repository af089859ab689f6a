import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import type { Entitlements } from '#modules/plans/plans.model.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { chatBody, eventually, MODEL } from '#test/helpers/gateway.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import {
  ADMIN_ENV,
  backends,
  call,
  freshIp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

/**
 * Plan allowances with three instances on one database and one Redis: the counters are taken in one
 * atomic step in Redis, so the boundary is exact whichever instance a call reaches, and a plan changed
 * on one instance applies on the others at once (the invalidation bus).
 */
const withRedis = backends().filter((b) => b.kv === 'redis');

// Without Redis there is no shared backend: the file says so instead of finding no test. CI requires
// every service (test/required-services.ts), so there this never skips.
if (withRedis.length === 0) it.skip('needs TEST_REDIS_URL (instances share allowances through Redis)', () => {});

describe.each(withRedis)('plan allowances on three instances ($label)', (backend) => {
  let shared: SharedBackend;
  let fake: FakeOpenAI;
  let apps: App[];
  let admin: string;
  let n = 0;
  let first: TestApp;

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    shared = await createSharedBackend(backend);
    const env = {
      ...ADMIN_ENV,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-shared-0123456789',
      RATE_LIMIT_USER_RPM: '0',
      RATE_LIMIT_USER_CONCURRENCY: '0',
    };
    const app = await shared.start(env);
    const outbox = () => readFileSync(join(shared.dataDir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean);
    first = {
      app,
      lastCode: (email: string) =>
        (
          JSON.parse(
            outbox()
              .filter((line) => line.includes(email))
              .at(-1)!,
          ) as { text: string }
        ).text.match(/\b(\d{6})\b/)![1]!,
    } as unknown as TestApp;
    const login = await call(app, 'POST', '/api/auth/login', {
      body: { email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD },
      ip: freshIp(),
    });
    admin = login.json<{ access_token: string }>().access_token;
    await call(app, 'PUT', `/api/admin/pricing/${MODEL}`, {
      token: admin,
      body: { input: 10, output: 20, perRequest: 1 },
    });
    apps = [app, await shared.start(env), await shared.start(env)];
  });
  afterAll(async () => {
    await shared?.close();
    await fake?.close();
  });

  async function planned(terms: Partial<Entitlements>): Promise<{ user: RegisteredUser; secret: string }> {
    const { plans } = apps[0]!.services;
    n += 1;
    const plan = await plans.create({ code: `cluster-${n}`, name: `C${n}`, level: 1, price: 1, entitlements: terms });
    const user = await registerUser(first);
    const created = await call(apps[0]!, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'k' } });
    await plans.activate({
      userId: user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `cluster:${user.id}`,
    });
    return { user, secret: created.json<{ key: string }>().key };
  }
  const chat = (i: number, secret: string) =>
    call(apps[i % 3]!, 'POST', '/v1/chat/completions', {
      token: secret,
      body: chatBody({ fake_behavior: 'usage=100,100', max_tokens: 100 }),
    });

  it('CONCURRENCY: 30 parallel calls over three instances against 10 requests a day: exactly 10 pass', async () => {
    const { secret } = await planned({ allowances: [{ metric: 'requests', period: 'day', limit: 10 }] });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(i, secret)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(10);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(20);
  });

  it('CONCURRENCY: credits per day over three instances: never passed, and counted at what was charged', async () => {
    const { user, secret } = await planned({ allowances: [{ metric: 'credits', period: 'day', limit: 30 }] });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => chat(i, secret)));
    const passed = results.filter((r) => r.statusCode === 200).length;
    expect(results.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 402)).toBe(true);
    for (const app of apps) {
      const info = await call(app, 'GET', '/v1/vip/info', { token: user.accessToken });
      expect(info.json<{ data: { allowances: Array<{ used: number }> } }>().data.allowances[0]!.used).toBe(4 * passed);
    }
    expect(4 * passed).toBeLessThanOrEqual(30);
    const { credits } = apps[0]!.services;
    expect(await credits.ledgerSum(user.id)).toBe((await credits.account(user.id)).balance);
    expect(await credits.openHolds(user.id)).toBe(0);
  });

  it('a plan set or ended on one instance applies on the others at once, though they had cached it', async () => {
    const user = await registerUser(first);
    const [a, , c] = apps as [App, App, App];
    expect(await c.services.plans.activePlan(user.id)).toBeNull(); // cached: no plan
    const set = await call(a, 'PUT', `/api/admin/users/${user.id}/plan`, { token: admin, body: { planId: 'yearly' } });
    expect(set.statusCode).toBe(200);
    await eventually(
      async () => (await c.services.plans.activePlan(user.id))?.code === 'yearly',
      'the plan set on one instance is seen on another',
    );
    await call(a, 'DELETE', `/api/admin/users/${user.id}/plan`, { token: admin });
    await eventually(
      async () => (await c.services.plans.activePlan(user.id)) === null,
      'the plan ended on one instance is gone on another',
    );
  });
});
