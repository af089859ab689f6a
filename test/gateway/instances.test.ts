import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import type { RedisStore } from '#core/kv.ts';
import { toMicro } from '#modules/pricing/price.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { rawRedis } from '#test/helpers/kv.ts';
import {
  ADMIN_ENV,
  backends,
  call,
  freshIp,
  registerUser,
  type Backend,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { chatBody, eventually, FAKE_MODELS, MODEL, UPSTREAM_SECRET } from '#test/helpers/gateway.ts';

interface Cluster {
  apps: App[];
  fake: FakeOpenAI;
  admin: string;
  user: RegisteredUser;
  secret: string;
  keyId: string;
  /** The Redis key prefix the instances share. */
  prefix: string;
  /** Signs up another user (on the first instance). */
  register(): Promise<RegisteredUser>;
  close(): Promise<void>;
}

/** `n` Tollgate instances on one database (and one Redis prefix, when the backend has Redis), one user with a key. */
async function cluster(backend: Backend, n: number, env: Record<string, string> = {}): Promise<Cluster> {
  const fake = await FakeOpenAI.start();
  const shared: SharedBackend = await createSharedBackend(backend);
  const all = { ...ADMIN_ENV, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-shared-0123456789', ...env };
  const first = await shared.start(all);
  const outbox = () => readFileSync(join(shared.dataDir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean);
  const asTestApp = {
    app: first,
    lastCode: (email: string) =>
      JSON.parse(
        outbox()
          .filter((line) => line.includes(email))
          .at(-1)!,
      ).text.match(/\b(\d{6})\b/)[1] as string,
  } as unknown as TestApp;
  const user = await registerUser(asTestApp);
  const login = await call(first, 'POST', '/api/auth/login', {
    body: { email: ADMIN_ENV.ADMIN_EMAIL, password: ADMIN_ENV.ADMIN_PASSWORD },
    ip: freshIp(),
  });
  const admin = login.json<{ access_token: string }>().access_token;
  await call(first, 'PUT', `/api/admin/pricing/${MODEL}`, {
    token: admin,
    body: { input: 10, output: 20, perRequest: 1 },
  });
  const created = await call(first, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'shared' } });
  const { key: secret, apiKey } = created.json<{ key: string; apiKey: { id: string } }>();
  // The others start after the price is set: without Redis an instance hears of no change made elsewhere.
  const apps: App[] = [first];
  for (let i = 1; i < n; i++) apps.push(await shared.start(all));
  return {
    apps,
    fake,
    admin,
    user,
    secret,
    keyId: apiKey.id,
    prefix: shared.prefix,
    register: () => registerUser(asTestApp),
    async close() {
      await shared.close();
      await fake.close();
    },
  };
}

const chat = (app: App, secret: string, extra: Record<string, unknown> = {}) =>
  call(app, 'POST', '/v1/chat/completions', {
    token: secret,
    body: chatBody({ fake_behavior: 'usage=100,100', ...extra }),
  });

describe.each(backends())('instances on one database ($label)', (backend) => {
  let c: Cluster;
  beforeAll(async () => {
    // The instances run on the real clock: a grace window that no slow machine outlasts.
    c = await cluster(backend, 2, {
      RATE_LIMIT_USER_RPM: '0',
      RATE_LIMIT_USER_CONCURRENCY: '0',
      REFRESH_TOKEN_GRACE: '60',
    });
  });
  afterAll(() => c.close());

  it('share sessions: parallel refreshes of one token on both instances all get the same successor', async () => {
    const user = await c.register();
    const answers = await Promise.all(
      c.apps.flatMap((app) =>
        [1, 2, 3].map(() => call(app, 'POST', '/api/auth/refresh', { body: { refresh_token: user.refreshToken } })),
      ),
    );
    expect(answers.map((res) => res.statusCode)).toEqual(Array(6).fill(200));
    expect(new Set(answers.map((res) => res.json<{ refresh_token: string }>().refresh_token)).size).toBe(1);
    for (const app of c.apps)
      expect(
        (
          await call(app, 'GET', '/api/user/profile', {
            token: answers[0]!.json<{ access_token: string }>().access_token,
          })
        ).statusCode,
      ).toBe(200);
  });

  it('share the money: calls racing on two instances never spend more than the balance', async () => {
    const [a, b] = c.apps as [App, App];
    const credits = a.services.credits;
    const { balance } = await credits.account(c.user.id);
    await call(a, 'POST', `/api/admin/users/${c.user.id}/credits`, {
      token: c.admin,
      body: { amount: 30 - balance, reason: 'test' },
    });
    // Each call holds ≈ 12 (max_tokens 500) and costs 4.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => chat(i % 2 ? a : b, c.secret, { max_tokens: 500 })),
    );
    const ok = results.filter((r) => r.statusCode === 200).length;
    expect(results.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 402)).toBe(true);
    expect(ok).toBeGreaterThanOrEqual(2);
    const after = await credits.account(c.user.id);
    expect(after).toEqual({ balance: 30 - 4 * ok, held: 0, available: 30 - 4 * ok });
    expect(await credits.ledgerSum(c.user.id)).toBe(after.balance);
    expect(await credits.openHolds(c.user.id)).toBe(0);
  });
});

describe.each(backends().filter((b) => b.kv === 'redis'))('instances sharing Redis ($label)', (backend) => {
  let c: Cluster;
  beforeAll(async () => {
    c = await cluster(backend, 3, { RATE_LIMIT_USER_RPM: '3' });
  });
  afterAll(() => c.close());

  /** Resolves when `app` has heard `topic` on the invalidation bus (Redis pub/sub). */
  const heard = (app: App, topic: (t: string) => boolean) =>
    new Promise<void>((resolve) =>
      app.services.bus.subscribe((t) => {
        if (topic(t)) resolve();
      }),
    );

  it('three instances share one limit, not three times it', async () => {
    // The instances run on the real clock: start well inside a minute so the six calls share one window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 2_000) await new Promise((resolve) => setTimeout(resolve, left + 10));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await chat(c.apps[i % 3]!, c.secret)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(c.fake.stats.requests).toBe(3);
  });

  it('a key disabled on one instance is refused by the others, though they had it cached', async () => {
    const [a, b, other] = c.apps as [App, App, App];
    const user = c.user;
    const created = await call(a, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'second' } });
    const { key: secret, apiKey } = created.json<{ key: string; apiKey: { id: string } }>();
    // Cached on every instance (a model list is not rate limited).
    for (const app of c.apps) expect((await call(app, 'GET', '/v1/models', { token: secret })).statusCode).toBe(200);
    const delivered = Promise.all([heard(b, (t) => t.startsWith('key:')), heard(other, (t) => t.startsWith('key:'))]);
    expect(
      (await call(a, 'PATCH', `/api/keys/${apiKey.id}`, { token: user.accessToken, body: { enabled: false } }))
        .statusCode,
    ).toBe(200);
    await delivered;
    for (const app of c.apps)
      expect((await call(app, 'GET', '/v1/models', { token: secret })).json()).toMatchObject({
        error: { code: 'invalid_api_key' },
      });
    const removed = Promise.all([heard(a, (t) => t.startsWith('key:')), heard(other, (t) => t.startsWith('key:'))]);
    await call(b, 'PATCH', `/api/keys/${apiKey.id}`, { token: user.accessToken, body: { enabled: true } });
    await removed;
    expect((await call(other, 'GET', '/v1/models', { token: secret })).statusCode).toBe(200);
    const gone = heard(a, (t) => t.startsWith('key:'));
    await call(other, 'DELETE', `/api/keys/${apiKey.id}`, { token: user.accessToken });
    await gone;
    expect((await call(a, 'GET', '/v1/models', { token: secret })).statusCode).toBe(401);
  });

  it("a user disabled or deleted on one instance: the user's keys are refused by every instance, though they had them cached", async () => {
    const [a, b, other] = c.apps as [App, App, App];
    const user = await c.register();
    const created = await call(a, 'POST', '/api/keys', {
      token: user.accessToken,
      body: { name: 'cached everywhere' },
    });
    const secret = created.json<{ key: string }>().key;
    for (const app of c.apps) expect((await call(app, 'GET', '/v1/models', { token: secret })).statusCode).toBe(200);
    const topic = (t: string) => t === `user:${user.id}`;

    const disabled = Promise.all([heard(b, topic), heard(other, topic)]);
    await a.services.users.change(user.id, { status: 'disabled' });
    await disabled;
    for (const app of c.apps)
      expect((await call(app, 'GET', '/v1/models', { token: secret })).json()).toMatchObject({
        error: { code: 'account_deactivated' },
      });

    const enabled = Promise.all([heard(a, topic), heard(other, topic)]);
    await b.services.users.change(user.id, { status: 'active' });
    await enabled;
    for (const app of c.apps) expect((await call(app, 'GET', '/v1/models', { token: secret })).statusCode).toBe(200);

    const deleted = Promise.all([heard(a, topic), heard(b, topic)]);
    await other.services.userAdmin.remove(user.id);
    await deleted;
    for (const app of c.apps)
      expect((await call(app, 'GET', '/v1/models', { token: secret })).json()).toMatchObject({
        error: { code: 'invalid_api_key' },
      });
  });

  it('a price or a channel changed on one instance applies on the others', async () => {
    const [a, b] = c.apps as [App, App];
    await call(a, 'PUT', '/api/admin/pricing/house-model', { token: c.admin, body: { perRequest: 7 } });
    await eventually(() => b.services.pricing.priceOf('house-model')?.perRequest === 7, 'the price reached instance b');
    const channel = a.services.channels.all()[0]!;
    await call(a, 'PATCH', `/api/admin/channels/${channel.id}`, { token: c.admin, body: { enabled: false } });
    await eventually(() => b.services.channels.candidates(MODEL).length === 0, 'the channel change reached instance b');
    expect((await chat(b, c.secret)).statusCode).toBe(404);
  });
});

/** What one chat on `app` charged `userId` (the price is 1 per call + 1 + 2 for the fake's 100 + 100 tokens). */
async function chargedFor(app: App, c: Cluster): Promise<number> {
  const before = (await app.services.credits.account(c.user.id)).balance;
  const res = await chat(app, c.secret);
  expect(res.statusCode, res.body).toBe(200);
  return before - (await app.services.credits.account(c.user.id)).balance;
}

describe.each(backends())('an instance that missed a change catches up at the reconcile ($label)', (backend) => {
  let c: Cluster;
  let other: FakeOpenAI;
  beforeAll(async () => {
    c = await cluster(backend, 2, { RATE_LIMIT_USER_RPM: '0', CACHE_RECONCILE_SECONDS: '1' });
    other = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await c.close();
    await other.close();
  });

  it('a price and a channel changed while the change could not be announced: answered 200, applied here at once, there within the interval', async () => {
    const [a, b] = c.apps as [App, App];
    expect(await chargedFor(b, c)).toBe(4);
    // With Redis, this instance's connection is gone when it announces the change (without Redis there is no announcing at all).
    const redis = backend.kv === 'redis' ? (a.services.kv as RedisStore).client : undefined;
    redis?.disconnect();
    try {
      const priced = await call(a, 'PUT', `/api/admin/pricing/${MODEL}`, {
        token: c.admin,
        body: { input: 10, output: 20, perRequest: 7 },
      });
      expect(priced.statusCode, priced.body).toBe(200);
      const added = await call(a, 'POST', '/api/admin/channels', {
        token: c.admin,
        body: { name: 'newer', baseUrl: other.url, apiKey: UPSTREAM_SECRET, models: FAKE_MODELS, priority: 10 },
      });
      expect(added.statusCode, added.body).toBe(201);
      // The instance that made the change has it already.
      const listed = await call(a, 'GET', '/api/admin/pricing', { token: c.admin });
      expect(
        listed.json<{ items: Array<{ model: string; perRequest: number }> }>().items.find((p) => p.model === MODEL)
          ?.perRequest,
      ).toBe(7);
    } finally {
      await redis?.connect();
    }
    expect(await chargedFor(a, c)).toBe(10);
    await eventually(
      () => b.services.pricing.priceOf(MODEL)?.perRequest === 7 && b.services.channels.all().length === 2,
      'the reconcile reached instance b',
    );
    const served = other.stats.requests;
    expect(await chargedFor(b, c)).toBe(10);
    expect(other.stats.requests, 'the new channel serves instance b').toBe(served + 1);
  });
});

describe.each(backends().filter((b) => b.kv === 'redis'))(
  'an instance whose invalidation subscriber reconnects ($label)',
  (backend) => {
    let c: Cluster;
    beforeAll(async () => {
      c = await cluster(backend, 2, { RATE_LIMIT_USER_RPM: '0', CACHE_RECONCILE_SECONDS: '0' });
    });
    afterAll(() => c.close());

    it('reloads prices and channels: what changed while it was away applies', async () => {
      const b = c.apps[1]!;
      expect(await chargedFor(b, c)).toBe(4);
      // A change whose announcement nobody heard: in the database, and nowhere else.
      await b.services.database.db
        .updateTable('model_prices')
        .set({ per_request_micro: toMicro(7) })
        .where('model', '=', MODEL)
        .execute();
      expect(await chargedFor(b, c)).toBe(4);
      const redis = await rawRedis(process.env.TEST_REDIS_URL!);
      try {
        const clients = String(await redis.client('LIST')).split('\n');
        const subscribers = clients
          .filter((line) => line.includes(` name=${c.prefix}invalidation `))
          .map((line) => /\bid=(\d+)/.exec(line)![1]!);
        expect(subscribers).toHaveLength(2);
        for (const id of subscribers) await redis.client('KILL', 'ID', id);
      } finally {
        await redis.quit();
      }
      await eventually(
        () => b.services.pricing.priceOf(MODEL)?.perRequest === 7,
        'instance b reloaded on reconnecting',
      );
      expect(await chargedFor(b, c)).toBe(10);
    });
  },
);
