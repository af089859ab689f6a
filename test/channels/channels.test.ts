import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { createSharedBackend } from '#test/helpers/instances.ts';
import { backends, call, registerUser } from '#test/helpers/test-app.ts';
import {
  addChannel,
  channelView,
  chatBody,
  expectBilledOnce,
  expectBooksBalanced,
  newCaller,
  setPrice,
  startGateway,
  UPSTREAM_SECRET,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(backends())('channels on $label', (backend) => {
  let g: Gateway;
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let models = 0;
  beforeAll(async () => {
    g = await startGateway(backend, {
      channel: false,
      env: { CHANNEL_FAILURE_THRESHOLD: '3', DIFY_MAX_CALL_COST: '35' },
    });
    [a, b] = await Promise.all([FakeOpenAI.start({ apiKeys: ['sk-right-a-000'] }), FakeOpenAI.start()]);
  });
  afterAll(async () => {
    await g.close();
    await Promise.all([a.close(), b.close()]);
  });
  beforeEach(() => {
    a.reset();
    b.reset();
  });

  /** A model name of its own for one test, priced (1 + 1 + 2 = 4 at usage=100,100), served upstream as gpt-4o-mini. */
  async function freshModel(): Promise<string> {
    const model = `route-${++models}`;
    await setPrice(g.t, g.admin, model, { input: 10, output: 20, perRequest: 1 });
    return model;
  }
  const channel = (model: string, fake: FakeOpenAI | string, extra: Record<string, unknown> = {}) =>
    addChannel(g.t, g.admin, {
      baseUrl: typeof fake === 'string' ? fake : fake.url,
      apiKey: fake === a ? 'sk-right-a-000' : UPSTREAM_SECRET,
      models: [model],
      modelMap: { [model]: 'gpt-4o-mini' },
      ...extra,
    });
  const chat = (secret: string, model: string, extra: Record<string, unknown> = {}) =>
    v1(g, secret, 'POST', '/v1/chat/completions', chatBody({ model, fake_behavior: 'usage=100,100', ...extra }));

  it('admin CRUD; the secret is sealed and never returned', async () => {
    const created = await call(g.t.app, 'POST', '/api/admin/channels', {
      token: g.admin,
      body: {
        name: 'primary',
        baseUrl: `${b.url}/`,
        apiKey: 'sk-live-abcdefghijklmnop',
        models: ['gpt-4o'],
        priority: 5,
        weight: 2,
      },
    });
    expect(created.statusCode).toBe(201);
    const view = created.json<{ id: string }>();
    expect(view).toMatchObject({
      name: 'primary',
      baseUrl: b.url,
      apiKeyPreview: 'sk-…mnop',
      models: ['gpt-4o'],
      modelMap: {},
      priority: 5,
      weight: 2,
      enabled: true,
      autoDisabled: false,
    });
    expect(created.body).not.toContain('abcdefghijkl');
    const listed = await call(g.t.app, 'GET', '/api/admin/channels', { token: g.admin });
    expect(listed.body).not.toContain('abcdefghijkl');
    const row = await g.t.app.services.database.db
      .selectFrom('channels')
      .selectAll()
      .where('id', '=', view.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain('abcdefghijkl');

    const changed = await call(g.t.app, 'PATCH', `/api/admin/channels/${view.id}`, {
      token: g.admin,
      body: { name: 'renamed', apiKey: 'sk-rotated-zyxwvutsrq', weight: 7 },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ name: 'renamed', apiKeyPreview: 'sk-…tsrq', weight: 7, priority: 5 });
    expect(
      (await call(g.t.app, 'POST', `/api/admin/channels/${view.id}/test`, { token: g.admin })).json(),
    ).toMatchObject({ ok: true, status: 200 });
    expect(b.lastRequest('/models')!.headers.authorization).toBe('Bearer sk-rotated-zyxwvutsrq');

    for (const body of [{}, { baseUrl: 'ftp://x' }, { weight: -1 }, { models: [] }, { secret: 'x' }]) {
      expect(
        (await call(g.t.app, 'PATCH', `/api/admin/channels/${view.id}`, { token: g.admin, body })).statusCode,
        JSON.stringify(body),
      ).toBe(400);
    }
    const user = await registerUser(g.t);
    expect((await call(g.t.app, 'GET', '/api/admin/channels', { token: user.accessToken })).statusCode).toBe(403);
    expect(
      (
        await call(g.t.app, 'POST', '/api/admin/channels', {
          token: user.accessToken,
          body: { name: 'x', baseUrl: b.url, apiKey: 'k', models: ['m'] },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await call(g.t.app, 'DELETE', `/api/admin/channels/${view.id}`, { token: user.accessToken })).statusCode,
    ).toBe(403);
    expect((await call(g.t.app, 'DELETE', `/api/admin/channels/${view.id}`, { token: g.admin })).statusCode).toBe(204);
    expect((await call(g.t.app, 'DELETE', `/api/admin/channels/${view.id}`, { token: g.admin })).statusCode).toBe(404);
  });

  it("a Dify app's maxCallCost: DIFY_MAX_CALL_COST unless the admin sets one; bad values are refused and change nothing", async () => {
    type DifyView = {
      id: string;
      prices: { input: number; output: number; endpoints: Record<string, number>; maxCallCost: number };
    };
    const create = (extra: Record<string, unknown>) =>
      call(g.t.app, 'POST', '/api/admin/channels', {
        token: g.admin,
        body: { name: 'dify app', kind: 'dify', baseUrl: b.url, apiKey: 'app-0123456789', appMode: 'chat', ...extra },
      });
    const patch = (id: string, body: unknown) =>
      call(g.t.app, 'PATCH', `/api/admin/channels/${id}`, { token: g.admin, body });
    const listed = async (id: string) =>
      (await call(g.t.app, 'GET', '/api/admin/channels', { token: g.admin }))
        .json<{ items: DifyView[] }>()
        .items.find((c) => c.id === id)!;
    /** What the Dify proxy reads when it holds for a call of the app. */
    const held = (id: string) => g.t.app.services.channels.get(id)!.dify!.prices.maxCallCost;

    const plain = await create({});
    expect(plain.statusCode, plain.body).toBe(201);
    const byDefault = plain.json<DifyView>();
    expect(byDefault.prices.maxCallCost).toBe(35);
    expect(held(byDefault.id)).toBe(35);

    const own = await create({ prices: { input: 4, maxCallCost: 50 } });
    expect(own.statusCode, own.body).toBe(201);
    const app = own.json<DifyView>();
    expect(app.prices).toMatchObject({ input: 4, maxCallCost: 50 });
    expect(await listed(app.id)).toEqual(app);
    expect(held(app.id)).toBe(50);

    expect((await patch(app.id, { prices: { maxCallCost: 80 } })).json<DifyView>().prices).toMatchObject({
      input: 4,
      maxCallCost: 80,
    });
    expect(
      (await patch(app.id, { prices: { output: 9 } })).json<DifyView>().prices,
      'changing another price keeps it',
    ).toMatchObject({ input: 4, output: 9, maxCallCost: 80 });
    expect(held(app.id)).toBe(80);

    const before = await listed(app.id);
    for (const maxCallCost of [0, -5, 2.5, '50', null, 1_000_001]) {
      expect((await create({ prices: { maxCallCost } })).statusCode, `create with ${JSON.stringify(maxCallCost)}`).toBe(
        400,
      );
      expect(
        (await patch(app.id, { prices: { maxCallCost } })).statusCode,
        `update to ${JSON.stringify(maxCallCost)}`,
      ).toBe(400);
    }
    expect(await listed(app.id)).toEqual(before);
    expect(
      (await call(g.t.app, 'GET', '/api/admin/channels', { token: g.admin }))
        .json<{ items: DifyView[] }>()
        .items.filter((c) => c.prices !== null),
    ).toHaveLength(2);
    const openai = await call(g.t.app, 'POST', '/api/admin/channels', {
      token: g.admin,
      body: { name: 'x', baseUrl: b.url, apiKey: 'sk-x', models: ['m'], prices: { maxCallCost: 5 } },
    });
    expect(openai.statusCode, 'an OpenAI-compatible channel has no Dify prices').toBe(400);

    // An app stored before apps had a maxCallCost holds DIFY_MAX_CALL_COST, until the admin sets one.
    const stored = (
      await g.t.app.services.database.db
        .selectFrom('channels')
        .select('prices')
        .where('id', '=', app.id)
        .executeTakeFirstOrThrow()
    ).prices!;
    const older = JSON.parse(stored) as Record<string, unknown>;
    delete older.maxCallCost;
    await g.t.app.services.database.db
      .updateTable('channels')
      .set({ prices: JSON.stringify(older) })
      .where('id', '=', app.id)
      .execute();
    await g.t.app.services.channels.load();
    expect((await listed(app.id)).prices).toMatchObject({ input: 4, output: 9, maxCallCost: 35 });
    expect((await patch(app.id, { prices: { maxCallCost: 60 } })).json<DifyView>().prices.maxCallCost).toBe(60);

    for (const id of [byDefault.id, app.id])
      expect((await call(g.t.app, 'DELETE', `/api/admin/channels/${id}`, { token: g.admin })).statusCode).toBe(204);
  });

  it('routes to the highest priority, then by weight', async () => {
    const model = await freshModel();
    const high = await channel(model, a, { priority: 10 });
    const low = await channel(model, b, { priority: 0 });
    const c = await newCaller(g);
    for (let i = 0; i < 5; i++) expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect([a.stats.requests, b.stats.requests]).toEqual([5, 0]);

    const picks = () => {
      const counts = new Map<string, number>();
      for (let i = 0; i < 4000; i++) {
        const id = g.t.app.services.channels.pick(model, new Set())!.id;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return [counts.get(high.id) ?? 0, counts.get(low.id) ?? 0];
    };
    await call(g.t.app, 'PATCH', `/api/admin/channels/${high.id}`, {
      token: g.admin,
      body: { priority: 0, weight: 0 },
    });
    expect(picks()).toEqual([0, 4000]);
    await call(g.t.app, 'PATCH', `/api/admin/channels/${high.id}`, { token: g.admin, body: { weight: 3 } });
    const [heavy, light] = picks();
    // 3:1 → about 3000:1000 (σ ≈ 27)
    expect(heavy).toBeGreaterThan(2700);
    expect(light).toBeGreaterThan(700);
  });

  it('sends the mapped model name upstream and records the name the client asked for', async () => {
    const model = await freshModel();
    await channel(model, b);
    const c = await newCaller(g);
    const res = await chat(c.secret, model);
    expect(res.statusCode).toBe(200);
    expect((b.lastRequest('/chat/completions')!.body as { model: string }).model).toBe('gpt-4o-mini');
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, model });
  });

  it.each([
    ['HTTP 500', 'status=500'],
    ['HTTP 429', 'status=429'],
    ["HTTP 401 (the channel's own secret refused)", 'status=401'],
    ['a refused connection', 'refused'],
  ])('when the first channel answers %s the call succeeds on the next, billed once', async (_, failure) => {
    const model = await freshModel();
    const first =
      failure === 'refused'
        ? await channel(model, `http://127.0.0.1:${await closedPort()}/v1`, { priority: 10 })
        : await channel(model, a, { priority: 10 });
    if (failure !== 'refused') a.always(failure);
    const second = await channel(model, b);
    const c = await newCaller(g);
    const res = await chat(c.secret, model);
    expect(res.statusCode, res.body).toBe(200);
    expect(b.stats.requests).toBe(1);
    const row = await expectBilledOnce(g, c.user.id, 1000, { credits: 4, status: 'ok' });
    expect(row.channel_id).toBe(second.id);
    expect(await channelView(g.t, g.admin, first.id)).toMatchObject({
      consecutiveFailures: 1,
      autoDisabled: false,
      lastError: expect.any(String),
    });
    // Streams fail over the same way (before anything was sent to the client).
    const streamed = await chat(c.secret, model, { stream: true });
    expect(streamed.statusCode).toBe(200);
    expect(streamed.body).toContain('data: [DONE]');
    expect((await channelView(g.t, g.admin, first.id)).consecutiveFailures).toBe(2);
  });

  it('a channel failing N times in a row is taken out, then put back by a healthy probe', async () => {
    const model = await freshModel();
    const flaky = await channel(model, a, { priority: 10 });
    await channel(model, b);
    const c = await newCaller(g);
    a.always('status=503');
    for (let i = 0; i < 3; i++) expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect(await channelView(g.t, g.admin, flaky.id)).toMatchObject({
      autoDisabled: true,
      enabled: true,
      consecutiveFailures: 3,
    });
    for (let i = 0; i < 3; i++) expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect(a.stats.requests).toBe(3);
    expect(await g.t.app.services.channels.probe()).toBe(0);
    a.always();
    expect(await g.t.app.services.channels.probe()).toBe(1);
    expect(await channelView(g.t, g.admin, flaky.id)).toMatchObject({
      autoDisabled: false,
      consecutiveFailures: 0,
      lastError: null,
    });
    expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect(a.requestsTo('/chat/completions')).toHaveLength(4);
    expect((await usageRows(g, c.user.id)).map((r) => r.credits)).toEqual(Array(7).fill(4));
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 28);
  });

  it('the probe counts an upstream without a model list (404) as healthy, one refusing the secret (401) as not', async () => {
    const model = await freshModel();
    const flaky = await channel(model, a);
    const c = await newCaller(g);
    a.always('status=500');
    for (let i = 0; i < 3; i++) expect((await chat(c.secret, model)).statusCode).toBe(503);
    expect((await channelView(g.t, g.admin, flaky.id)).autoDisabled).toBe(true);
    a.always();
    a.next('status=401', { path: '/models' });
    expect(await g.t.app.services.channels.probe()).toBe(0);
    a.next('status=404', { path: '/models' });
    expect(await g.t.app.services.channels.probe()).toBe(1);
    expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 4);
  });

  it('never turns on a channel the admin turned off, probe or test', async () => {
    const model = await freshModel();
    const off = await channel(model, a, { priority: 10 });
    await channel(model, b);
    const c = await newCaller(g);
    a.always('status=500');
    for (let i = 0; i < 3; i++) await chat(c.secret, model);
    expect((await channelView(g.t, g.admin, off.id)).autoDisabled).toBe(true);
    await call(g.t.app, 'PATCH', `/api/admin/channels/${off.id}`, { token: g.admin, body: { enabled: false } });
    a.always();
    await g.t.app.services.channels.probe();
    expect(
      (await call(g.t.app, 'POST', `/api/admin/channels/${off.id}/test`, { token: g.admin })).json(),
    ).toMatchObject({ ok: true });
    expect(await channelView(g.t, g.admin, off.id)).toMatchObject({ enabled: false });
    a.clearRequests();
    for (let i = 0; i < 3; i++) expect((await chat(c.secret, model)).statusCode).toBe(200);
    expect(a.requestsTo('/chat/completions')).toHaveLength(0);
  });

  it('with every channel down the call is refused with 503 and nothing is charged, also once they are taken out', async () => {
    const model = await freshModel();
    await channel(model, a, { priority: 10 });
    await channel(model, b);
    a.always('status=500');
    b.always('status=502');
    const c = await newCaller(g);
    for (let i = 0; i < 4; i++) {
      const res = await chat(c.secret, model);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { type: 'server_error' } });
    }
    // After three failures each, both are out: still 503 (try later), not 404 (no such model).
    expect(a.stats.requests + b.stats.requests).toBe(6);
    const rows = await usageRows(g, c.user.id);
    expect(rows.map((r) => [r.status, r.credits])).toEqual([
      ['error', 0],
      ['error', 0],
      ['error', 0],
    ]);
    expect((await g.t.app.services.credits.account(c.user.id)).balance).toBe(1000);
    expect(await g.t.app.services.credits.openHolds(c.user.id)).toBe(0);
  });
});

describe.each(backends())('the first channel from the environment on $label', (backend) => {
  it('OPENAI_BASE_URL and OPENAI_API_KEY create one channel serving every model, once', async () => {
    const fake = await FakeOpenAI.start();
    const shared = await createSharedBackend(backend);
    try {
      const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-from-env-0123456789' };
      const first = await shared.start(env);
      await shared.start(env);
      const channels = first.services.channels.all();
      expect(channels.map((c) => [c.baseUrl, c.models, c.enabled])).toEqual([[fake.url, ['*'], true]]);
      expect(await first.services.database.db.selectFrom('channels').select('id').execute()).toHaveLength(1);
      expect(await first.services.channels.test(channels[0]!.id)).toMatchObject({ ok: true, status: 200 });
      expect(fake.lastRequest('/models')!.headers.authorization).toBe('Bearer sk-from-env-0123456789');
    } finally {
      await shared.close();
      await fake.close();
    }
  });
});
