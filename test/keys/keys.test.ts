import { createHash } from 'node:crypto';
import { PermissionDeniedError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeyCache } from '#modules/keys/key-cache.ts';
import { backends, call, registerUser, type RegisteredUser } from '#test/helpers/test-app.ts';
import {
  chatBody,
  createKey,
  expectBooksBalanced,
  MODEL,
  newCaller,
  sdk,
  setBalance,
  startGateway,
  usageRows,
  v1,
  type Gateway,
  type KeyView,
} from '#test/helpers/gateway.ts';

const HOUR = 3_600_000;
const usage = (spec = 'usage=100,100') => ({ fake_behavior: spec });

describe.each(backends())('API keys on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { listen: true });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  const db = () => g.t.app.services.database.db;
  const list = async (user: RegisteredUser): Promise<KeyView[]> => {
    const res = await call(g.t.app, 'GET', '/api/keys', { token: user.accessToken });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: KeyView[] }>().items;
  };
  const patch = (user: RegisteredUser, id: string, body: unknown) =>
    call(g.t.app, 'PATCH', `/api/keys/${id}`, { token: user.accessToken, body });
  const chat = (secret: string, extra: Record<string, unknown> = usage(), ip?: string) =>
    v1(g, secret, 'POST', '/v1/chat/completions', chatBody(extra), ip ? { ip } : {});
  const keyRows = (userId: string) =>
    db().selectFrom('api_keys').selectAll().where('user_id', '=', userId).orderBy('id').execute();

  it('shows the secret once, stores only its hash, and lists a preview', async () => {
    const user = await registerUser(g.t);
    const res = await call(g.t.app, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'laptop' } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const { key: secret, apiKey } = res.json<{ key: string; apiKey: KeyView }>();
    expect(secret).toMatch(/^sk-[\w-]{32,}$/);
    expect(apiKey).toMatchObject({
      name: 'laptop',
      enabled: true,
      preview: `${secret.slice(0, 7)}…${secret.slice(-4)}`,
      creditsUsed: 0,
      lastUsedAt: null,
    });
    const listed = await call(g.t.app, 'GET', '/api/keys', { token: user.accessToken });
    expect(listed.body).not.toContain(secret.slice(7, -4));
    expect(listed.json<{ items: KeyView[] }>().items).toEqual([apiKey]);
    const [row] = await keyRows(user.id);
    expect(row!.key_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret.slice(7, -4));
    expect((await chat(secret)).statusCode).toBe(200);
  });

  it('changes and deletes a key; a deleted key stops working at once', async () => {
    const c = await newCaller(g);
    expect((await chat(c.secret)).statusCode).toBe(200);
    const changed = await patch(c.user, c.keyId, { name: 'renamed', creditCap: 500, rateLimits: { rpm: 10 } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      id: c.keyId,
      name: 'renamed',
      creditCap: 500,
      rateLimits: { rpm: 10, tpm: null, concurrency: null, rpd: null },
    });
    expect((await list(c.user)).map((k) => k.name)).toEqual(['renamed']);
    const deleted = await call(g.t.app, 'DELETE', `/api/keys/${c.keyId}`, { token: c.user.accessToken });
    expect(deleted.statusCode).toBe(204);
    expect(await list(c.user)).toEqual([]);
    const refused = await chat(c.secret);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
    expect((await call(g.t.app, 'DELETE', `/api/keys/${c.keyId}`, { token: c.user.accessToken })).statusCode).toBe(404);
  });

  it("another user's key id is not found, and that key is left as it was", async () => {
    const owner = await newCaller(g);
    const other = await registerUser(g.t);
    const before = await keyRows(owner.user.id);
    expect((await patch(other, owner.keyId, { enabled: false })).statusCode).toBe(404);
    expect((await call(g.t.app, 'DELETE', `/api/keys/${owner.keyId}`, { token: other.accessToken })).statusCode).toBe(
      404,
    );
    expect(await keyRows(owner.user.id)).toEqual(before);
    expect((await chat(owner.secret)).statusCode).toBe(200);
  });

  it('refuses bad bodies with 400 and writes nothing', async () => {
    const c = await newCaller(g);
    const past = new Date(g.t.clock.now() - HOUR).toISOString();
    const bad: unknown[] = [
      { name: 'x', allowedIps: ['300.1.2.3'] },
      { name: 'x', allowedIps: ['10.0.0.0/33'] },
      { name: 'x', allowedIps: ['example.com'] },
      { name: 'x', expiresAt: past },
      { name: 'x', expiresAt: 'tomorrow' },
      { name: 'x', unknownField: 1 },
      { name: '   ' },
      {},
      { name: 'x', creditCap: 0 },
      { name: 'x', rateLimits: { rpm: -1 } },
    ];
    const before = await keyRows(c.user.id);
    for (const body of bad) {
      const res = await call(g.t.app, 'POST', '/api/keys', { token: c.user.accessToken, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(['VALIDATION_FAILED', 'EXPIRES_AT_IN_PAST']).toContain(res.json<{ code: string }>().code);
    }
    const badPatches: unknown[] = [
      ...bad.slice(0, 6).map((b) => ({ ...(b as object), name: undefined })),
      {},
      { name: '  ' },
      { enabled: 'no' },
    ];
    for (const body of badPatches) {
      const res = await patch(c.user, c.keyId, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await keyRows(c.user.id)).toEqual(before);
  });

  it('a disabled key is refused at once, though it was just cached, and works again when enabled', async () => {
    const c = await newCaller(g);
    expect((await chat(c.secret)).statusCode).toBe(200);
    expect((await patch(c.user, c.keyId, { enabled: false })).statusCode).toBe(200);
    const refused = await chat(c.secret);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect((await v1(g, c.secret, 'GET', '/v1/models')).statusCode).toBe(401);
    expect((await patch(c.user, c.keyId, { enabled: true })).statusCode).toBe(200);
    expect((await chat(c.secret)).statusCode).toBe(200);
    expect(g.fake.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('an expired key is refused', async () => {
    const c = await newCaller(g, { expiresAt: new Date(g.t.clock.now() + HOUR).toISOString() });
    expect((await chat(c.secret)).statusCode).toBe(200);
    g.t.clock.advance(HOUR + 1);
    const refused = await chat(c.secret);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect(await usageRows(g, c.user.id)).toHaveLength(1);
  });

  it('an IP allow-list admits its range and refuses the rest with 403', async () => {
    const c = await newCaller(g, { allowedIps: ['10.77.0.0/16', '2001:db8::/32'] });
    expect((await chat(c.secret, usage(), '10.77.3.4')).statusCode).toBe(200);
    expect((await chat(c.secret, usage(), '2001:db8::1')).statusCode).toBe(200);
    const refused = await chat(c.secret, usage(), '10.78.0.1');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'ip_not_allowed' } });
    // Over a real socket the SDK comes from 127.0.0.1, outside the list.
    const error = await sdk(g, c.secret)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(g.fake.requestsTo('/chat/completions')).toHaveLength(2);
  });

  it('a model allow-list refuses other models with 404 and lists only its own', async () => {
    const c = await newCaller(g, { allowedModels: ['gpt-4o'] });
    const refused = await chat(c.secret);
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
    expect(
      (await v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody({ model: 'gpt-4o', ...usage() }))).statusCode,
    ).toBe(200);
    const models = await v1(g, c.secret, 'GET', '/v1/models');
    expect(models.json<{ data: Array<{ id: string }> }>().data.map((m) => m.id)).toEqual(['gpt-4o']);
    expect((await v1(g, c.secret, 'GET', `/v1/models/${MODEL}`)).statusCode).toBe(404);
    expect(g.fake.requestsTo('/chat/completions')).toHaveLength(1);
  });

  it('a credit cap refuses with 402 once what is left cannot cover a call; creditsUsed counts the charges', async () => {
    // Each call holds 1 + ~0.1 + 1000 × 20/1K ≈ 22 and costs 4 (1 + 1 + 2).
    const c = await newCaller(g, { creditCap: 50 });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await chat(c.secret, { ...usage(), max_tokens: 1000 })).statusCode);
    // After n calls 4n are used; a call needs 4n + 22 ≤ 50: n ≤ 7, so 8 calls pass.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 402, 402]);
    const refused = await chat(c.secret, { ...usage(), max_tokens: 1000 });
    expect(refused.json()).toMatchObject({ error: { code: 'insufficient_quota', type: 'insufficient_quota' } });
    expect((await list(c.user))[0]).toMatchObject({ creditCap: 50, creditsUsed: 32 });
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 32);
    // The cap is the key's: another key of the same account still works.
    const other = await createKey(g.t, c.user);
    expect((await chat(other.secret)).statusCode).toBe(200);
    // A small call still fits under the cap.
    expect((await chat(c.secret, { ...usage(), max_tokens: 100 })).statusCode).toBe(200);
    expect((await list(c.user)).find((k) => k.id === c.keyId)).toMatchObject({ creditsUsed: 36 });
  });

  it('a cap put on a key that has been spending counts what it spent before', async () => {
    const c = await newCaller(g);
    for (let i = 0; i < 3; i++) expect((await chat(c.secret, { ...usage(), max_tokens: 1000 })).statusCode).toBe(200);
    expect((await list(c.user))[0]).toMatchObject({ creditCap: null, creditsUsed: 12 });
    // 12 spent; a call holds about 22: a cap of 30 leaves room for none, whatever was spent without one.
    expect((await patch(c.user, c.keyId, { creditCap: 30 })).statusCode).toBe(200);
    const refused = await chat(c.secret, { ...usage(), max_tokens: 1000 });
    expect(refused.statusCode).toBe(402);
    expect((await list(c.user))[0]).toMatchObject({ creditCap: 30, creditsUsed: 12 });
    // Raising the cap lets calls through again, counted on top of the 12.
    expect((await patch(c.user, c.keyId, { creditCap: 40 })).statusCode).toBe(200);
    expect((await chat(c.secret, { ...usage(), max_tokens: 1000 })).statusCode).toBe(200);
    expect((await list(c.user))[0]).toMatchObject({ creditCap: 40, creditsUsed: 16 });
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 16);
  });

  it('records when a key was last used', async () => {
    const c = await newCaller(g);
    expect((await list(c.user))[0]!.lastUsedAt).toBeNull();
    expect((await chat(c.secret)).statusCode).toBe(200);
    const at = g.t.clock.now();
    await g.t.app.services.keys.flushLastUsed();
    expect((await list(c.user))[0]!.lastUsedAt).toBe(new Date(at).toISOString());
  });
});

describe.each(backends())('API-key guessing on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, {
      env: { API_KEY_GUESS_MAX_PER_IP: '3', RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0' },
    });
  });
  afterAll(() => g.close());

  const chat = (secret: string, ip: string) => v1(g, secret, 'POST', '/v1/chat/completions', chatBody(usage()), { ip });

  it('one client calling with many connections at once, its key not cached yet, makes one lookup and no guesses', async () => {
    const c = await newCaller(g);
    // Enough credits for twenty holds of the model's whole output at once.
    await setBalance(g, c.user.id, 20_000);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => chat(c.secret, '203.0.113.7').then((res) => res.statusCode)),
    );
    expect(statuses).toEqual(Array(20).fill(200));
    expect(await usageRows(g, c.user.id)).toHaveLength(20);
  });

  it('made-up keys from one IP are refused 401 up to the limit, then 429 with retry-after', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(`sk-made-up-${i}-${Date.now()}`, '203.0.113.8')).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    const refused = await chat(`sk-made-up-last-${Date.now()}`, '203.0.113.8');
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await chat(`sk-made-up-elsewhere-${Date.now()}`, '203.0.113.9')).statusCode).toBe(401);
  });

  it('a locked IP is told how long it stays refused, by the clock, and may try again once the window has passed', async () => {
    const ip = '203.0.113.20';
    const madeUp = `sk-made-up-again-${Date.now()}`;
    // The same unknown key again and again is a guess each time, though it is remembered as unknown.
    for (let i = 0; i < 3; i++) expect((await chat(madeUp, ip)).statusCode).toBe(401);
    const refused = await chat(madeUp, ip);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('600');

    g.t.clock.advance(599_000);
    expect((await chat(madeUp, ip)).headers['retry-after']).toBe('1');
    g.t.clock.advance(1_000);
    expect((await chat(madeUp, ip)).statusCode).toBe(401);
  });

  const models = (secret: string, ip: string) => v1(g, secret, 'GET', '/v1/models', undefined, { ip });

  it("a real key is never refused for its address's wrong keys (one NAT, one misconfigured script)", async () => {
    const ip = '203.0.113.30';
    const colleague = await newCaller(g);
    for (let i = 0; i < 3; i++) expect((await models(`sk-misconfigured-${i}`, ip)).statusCode).toBe(401);
    expect((await models('sk-misconfigured-3', ip)).statusCode).toBe(429);
    // The colleague's key, never used before (so not cached), works from the locked address.
    expect((await models(colleague.secret, ip)).statusCode).toBe(200);
    // Wrong keys stay refused meanwhile, and real ones pass, in parallel too.
    const mixed = await Promise.all(
      Array.from({ length: 10 }, (_, i) => models(i % 2 ? colleague.secret : `sk-still-wrong-${i}`, ip)),
    );
    expect(mixed.map((res) => res.statusCode)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 200 : 429)));
  });

  it('only misses count: real keys between wrong ones neither count nor clear the count', async () => {
    const ip = '203.0.113.31';
    const c = await newCaller(g);
    const statuses: number[] = [];
    for (const secret of [
      'sk-wrong-a',
      c.secret,
      'sk-wrong-b',
      c.secret,
      c.secret,
      'sk-wrong-c',
      'sk-wrong-d',
      c.secret,
    ])
      statuses.push((await models(secret, ip)).statusCode);
    expect(statuses).toEqual([401, 200, 401, 200, 200, 401, 429, 200]);
  });

  it('parallel unknown keys from one address get no more "unknown key" answers than the limit', async () => {
    const statuses = (
      await Promise.all(Array.from({ length: 12 }, (_, i) => models(`sk-parallel-${i}`, '203.0.113.32')))
    ).map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(9);
  });
});

describe('KeyCache', () => {
  it('does not cache what a lookup read when the key or its owner changed while it ran', () => {
    const cache = new KeyCache<{ userId: string }>(30_000, 5_000);
    const began = cache.generation;
    cache.invalidate('key:abc'); // e.g. the key was disabled while the lookup was in flight
    cache.set('abc', { userId: 'u1' }, began);
    expect(cache.get('abc')).toBeUndefined();
    cache.set('abc', { userId: 'u1' }, cache.generation);
    expect(cache.get('abc')).toEqual({ userId: 'u1' });
    cache.invalidate('user:u1');
    expect(cache.get('abc')).toBeUndefined();
  });
});
