import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends, call, registerUser } from '#test/helpers/test-app.ts';
import {
  chatBody,
  expectBooksBalanced,
  newCaller,
  setBalance,
  setPrice,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

interface PriceEntry {
  model: string;
  input: number;
  output: number;
  perRequest: number;
  perImage: number;
  maxOutputTokens: number | null;
  source: 'admin' | 'default';
}

describe.each(backends())('pricing on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    // Users pay ×1.5 here; the ×1 formula is proven in chat.test.ts.
    g = await startGateway(backend, { env: { PRICE_MULTIPLIER_USER: '1.5' } });
    g.fake.models.set('house-model', { id: 'house-model', object: 'model', created: 1, owned_by: 'house' });
    const res = await call(g.t.app, 'POST', '/api/admin/channels', {
      token: g.admin,
      body: {
        name: 'house',
        baseUrl: g.fake.url,
        apiKey: 'sk-house-0123456789',
        models: ['house-model', 'org/house-model'],
        modelMap: { 'org/house-model': 'house-model' },
      },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  const prices = async (): Promise<PriceEntry[]> => {
    const res = await call(g.t.app, 'GET', '/api/admin/pricing', { token: g.admin });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: PriceEntry[] }>().items;
  };
  const put = (model: string, body: unknown, token = g.admin) =>
    call(g.t.app, 'PUT', `/api/admin/pricing/${encodeURIComponent(model)}`, { token, body });
  const remove = (model: string, token = g.admin) =>
    call(g.t.app, 'DELETE', `/api/admin/pricing/${encodeURIComponent(model)}`, { token });

  it('PUT, GET and DELETE prices; the shipped default comes back when the admin price goes', async () => {
    expect((await prices()).find((p) => p.model === 'gpt-4o')).toEqual({
      model: 'gpt-4o',
      input: 2.5,
      output: 10,
      perRequest: 0,
      perImage: 0,
      maxOutputTokens: 16384,
      source: 'default',
    });
    const res = await put('gpt-4o', { input: 1.25, output: 3.5, perRequest: 0.002 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      model: 'gpt-4o',
      input: 1.25,
      output: 3.5,
      perRequest: 0.002,
      perImage: 0,
      maxOutputTokens: 16384,
      source: 'admin',
    });
    expect((await prices()).find((p) => p.model === 'gpt-4o')).toEqual(res.json());
    expect((await remove('gpt-4o')).statusCode).toBe(204);
    expect((await prices()).find((p) => p.model === 'gpt-4o')!.source).toBe('default');
    expect((await remove('gpt-4o')).statusCode).toBe(404);
  });

  it('refuses bad price bodies and non-admins, writing nothing', async () => {
    const before = await prices();
    const badMaxima = [0, -1, 1.5, '4096', 10_000_001, true, {}].map((maxOutputTokens) => ({
      input: 1,
      maxOutputTokens,
    }));
    for (const body of [
      {},
      { input: -1 },
      { input: 'cheap' },
      { input: 1, bonus: 2 },
      { output: 2_000_000 },
      ...badMaxima,
    ]) {
      expect((await put('gpt-4o', body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    const user = await registerUser(g.t);
    expect((await put('gpt-4o', { input: 0 }, user.accessToken)).statusCode).toBe(403);
    expect((await remove('gpt-4o-mini', user.accessToken)).statusCode).toBe(403);
    expect((await call(g.t.app, 'GET', '/api/admin/pricing', { token: user.accessToken })).statusCode).toBe(403);
    expect((await call(g.t.app, 'GET', '/api/admin/pricing')).statusCode).toBe(401);
    expect(await prices()).toEqual(before);
  });

  it("lists the most output tokens of every shipped model: their vendors' figures, none for embeddings and images", async () => {
    // gpt-4o-mini has an admin price here (the gateway's), which sets no maximum of its own.
    const listed = new Map((await prices()).map((p) => [p.model, p.maxOutputTokens]));
    expect(Object.fromEntries(listed)).toEqual({
      'gpt-5': 128000,
      'gpt-5-mini': 128000,
      'gpt-5-nano': 128000,
      'gpt-4.1': 32768,
      'gpt-4.1-mini': 32768,
      'gpt-4.1-nano': 32768,
      'gpt-4o': 16384,
      'gpt-4o-mini': 16384,
      o3: 100000,
      'o3-mini': 100000,
      'o4-mini': 100000,
      'gpt-4-turbo': 4096,
      'gpt-3.5-turbo': 4096,
      'gpt-3.5-turbo-instruct': 4096,
      'text-embedding-3-small': null,
      'text-embedding-3-large': null,
      'text-embedding-ada-002': null,
      'dall-e-3': null,
      'dall-e-2': null,
      'gpt-image-1': null,
    });
  });

  it("an admin sets a model's most output tokens; without one it takes the model's shipped figure, then the `*` row's, then none", async () => {
    const stored = async (model: string) =>
      (
        await g.t.app.services.database.db
          .selectFrom('model_prices')
          .select('max_output_tokens')
          .where('model', '=', model)
          .executeTakeFirst()
      )?.max_output_tokens;
    const listed = async (model: string) => (await prices()).find((p) => p.model === model)?.maxOutputTokens;

    // Set, listed, kept in the table, and what a call of the model is priced with.
    const set = await put('gpt-4o', { input: 1, output: 2, maxOutputTokens: 50_000 });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ model: 'gpt-4o', maxOutputTokens: 50_000, source: 'admin' });
    expect(await listed('gpt-4o')).toBe(50_000);
    expect(await stored('gpt-4o')).toBe(50_000);
    expect(g.t.app.services.pricing.priceOf('gpt-4o')).toMatchObject({ input: 1, output: 2, maxOutputTokens: 50_000 });
    expect((await put('gpt-4o', { input: 1, maxOutputTokens: 10_000_000 })).json()).toMatchObject({
      maxOutputTokens: 10_000_000,
    });

    // Null, or absent: the row keeps none, and the shipped figure of the model applies again.
    for (const body of [{ input: 1, maxOutputTokens: null }, { input: 1 }]) {
      expect((await put('gpt-4o', body)).json(), JSON.stringify(body)).toMatchObject({
        maxOutputTokens: 16384,
        source: 'admin',
      });
      expect(await stored('gpt-4o')).toBeNull();
      expect(await listed('gpt-4o')).toBe(16384);
    }

    // A model Tollgate ships nothing for has none, until the `*` row has one; its own figure wins over that.
    expect((await put('house-model', { input: 1 })).json()).toMatchObject({ maxOutputTokens: null });
    expect((await put('*', { input: 1, maxOutputTokens: 8_000 })).json()).toMatchObject({
      model: '*',
      maxOutputTokens: 8_000,
    });
    expect(await listed('house-model')).toBe(8_000);
    expect(g.t.app.services.pricing.priceOf('unlisted-model')?.maxOutputTokens).toBe(8_000);
    expect(await listed('gpt-4o'), "a model's shipped figure comes before the `*` row's").toBe(16384);
    expect((await put('house-model', { input: 1, maxOutputTokens: 2_000 })).json()).toMatchObject({
      maxOutputTokens: 2_000,
    });
    expect(
      (await put('house-model', { input: 1 })).json(),
      'the answer of a PUT applies the `*` row too',
    ).toMatchObject({ maxOutputTokens: 8_000 });

    expect((await remove('*')).statusCode).toBe(204);
    expect(await listed('house-model')).toBeNull();
    expect(await listed('*')).toBeUndefined();
    expect((await remove('house-model')).statusCode).toBe(204);
    expect((await remove('gpt-4o')).statusCode).toBe(204);
    expect(await listed('gpt-4o')).toBe(16384);
  });

  it('a model without a price is refused with model_not_priced, unless the default `*` is priced', async () => {
    const c = await newCaller(g);
    for (const model of ['house-model', 'org/house-model']) {
      const refused = await v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody({ model }));
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        error: { code: 'model_not_priced', param: 'model', type: 'invalid_request_error' },
      });
    }
    expect(g.fake.stats.requests).toBe(0);
    expect(
      (await v1(g, c.secret, 'GET', '/v1/models')).json<{ data: Array<{ id: string }> }>().data.map((m) => m.id),
    ).not.toContain('house-model');

    await setPrice(g.t, g.admin, '*', { input: 1, output: 1, perRequest: 2 });
    const served = await v1(
      g,
      c.secret,
      'POST',
      '/v1/chat/completions',
      chatBody({ model: 'house-model', fake_behavior: 'usage=1000,1000' }),
    );
    expect(served.statusCode).toBe(200);
    expect(
      (await v1(g, c.secret, 'GET', '/v1/models')).json<{ data: Array<{ id: string }> }>().data.map((m) => m.id),
    ).toContain('house-model');
    // A model with a slash in its name has a price of its own.
    await setPrice(g.t, g.admin, 'org/house-model', { perRequest: 10 });
    const slashed = await v1(
      g,
      c.secret,
      'POST',
      '/v1/chat/completions',
      chatBody({ model: 'org/house-model', fake_behavior: 'usage=1000,1000' }),
    );
    expect(slashed.statusCode).toBe(200);
    expect((g.fake.lastRequest('/chat/completions')!.body as { model: string }).model).toBe('house-model');
    expect((await remove('*')).statusCode).toBe(204);
    expect((await remove('org/house-model')).statusCode).toBe(204);
    expect((await v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody({ model: 'house-model' }))).statusCode).toBe(
      400,
    );

    // (2 + 1 + 1) × 1.5 = 6, then 10 × 1.5 = 15
    expect((await usageRows(g, c.user.id)).map((r) => [r.model, r.credits])).toEqual([
      ['house-model', 6],
      ['org/house-model', 15],
    ]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 21);
  });

  it('charges perRequest + input×price/1000 + output×price/1000, times the user multiplier, rounded up', async () => {
    await setPrice(g.t, g.admin, 'gpt-4o', { input: 1.5, output: 2.25, perRequest: 0.1 });
    const c = await newCaller(g);
    const cases: Array<[number, number, number]> = [
      [1000, 1000, 6], // 3.85 × 1.5 = 5.775
      [2000, 400, 6], // 4 × 1.5 = 6 exactly: no rounding up past a whole credit
      [2000, 401, 7], // 4.00225 × 1.5 = 6.003375
      [0, 0, 1], // 0.1 × 1.5 = 0.15
      [1, 0, 1], // 0.1015 × 1.5
      [10000, 0, 23], // 15.1 × 1.5 = 22.65
      [0, 10000, 34], // 22.6 × 1.5 = 33.9
    ];
    for (const [input, output] of cases) {
      const res = await v1(
        g,
        c.secret,
        'POST',
        '/v1/chat/completions',
        chatBody({ model: 'gpt-4o', fake_behavior: `usage=${input},${output}` }),
      );
      expect(res.statusCode).toBe(200);
    }
    const rows = await usageRows(g, c.user.id);
    expect(rows.map((r) => [r.input_tokens, r.output_tokens, r.credits])).toEqual(cases);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 78);
    const ledger = await g.t.app.services.credits.history(c.user.id, 1, 100);
    expect(
      ledger.rows
        .filter((r) => r.kind === 'usage')
        .map((r) => -r.amount)
        .sort((a, b) => a - b),
    ).toEqual(cases.map((x) => x[2]).sort((a, b) => a - b));
    await remove('gpt-4o');
  });

  it('a model priced at zero works with no credits left: nothing held, nothing charged', async () => {
    await setPrice(g.t, g.admin, 'house-model', { input: 0 });
    const c = await newCaller(g, { creditCap: 1 });
    await setBalance(g, c.user.id, 0);
    const res = await v1(
      g,
      c.secret,
      'POST',
      '/v1/chat/completions',
      chatBody({ model: 'house-model', fake_behavior: 'usage=5000,5000' }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(
      (await usageRows(g, c.user.id)).map((r) => [r.input_tokens, r.output_tokens, r.credits, r.usage_source]),
    ).toEqual([[5000, 5000, 0, 'upstream']]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(0);
    // A priced model is still refused at this balance.
    expect((await v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody())).statusCode).toBe(402);
    await remove('house-model');
  });
});
