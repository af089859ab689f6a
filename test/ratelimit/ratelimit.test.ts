import { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LONG_SESSIONS, MINUTE } from '#test/helpers/clock.ts';
import { ADMIN_ENV, backends, call } from '#test/helpers/test-app.ts';
import {
  chatBody,
  createKey,
  eventually,
  expectBooksBalanced,
  MODEL,
  newCaller,
  sdk,
  setBalance,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

const DAY = 86_400_000;
const usage = (spec = 'usage=100,100') => ({ fake_behavior: spec });
const LIMITS = {
  RATE_LIMIT_USER_RPM: '4',
  RATE_LIMIT_USER_TPM: '5000',
  RATE_LIMIT_USER_CONCURRENCY: '2',
  RATE_LIMIT_USER_RPD: '6',
};

describe.each(backends())('rate limits on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { listen: true, env: { ...LONG_SESSIONS, ...LIMITS } });
  });
  afterAll(() => g.close());
  beforeEach(() => {
    g.fake.reset();
    // Every test starts in a fresh minute window.
    g.t.clock.advance(MINUTE);
  });

  const chat = (secret: string, extra: Record<string, unknown> = usage()) =>
    v1(g, secret, 'POST', '/v1/chat/completions', chatBody(extra));
  const statuses = async (secret: string, n: number, extra?: Record<string, unknown>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await chat(secret, extra)).statusCode);
    return out;
  };
  /** Seconds until the next minute window of the app's clock. */
  const toNextMinute = () => Math.ceil((MINUTE - (g.t.clock.now() % MINUTE)) / 1000);

  it('RPM per user across all their keys: 429 rate_limit_exceeded with retry-after and x-ratelimit-* headers', async () => {
    const c = await newCaller(g);
    const second = await createKey(g.t, c.user);
    const remaining: string[] = [];
    for (const secret of [c.secret, second.secret, c.secret, second.secret]) {
      const res = await chat(secret);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-limit-requests']).toBe('4');
      expect(res.headers['x-ratelimit-reset-requests']).toBe(`${toNextMinute()}s`);
      remaining.push(String(res.headers['x-ratelimit-remaining-requests']));
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);
    const refused = await chat(second.secret);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe(String(toNextMinute()));
    expect(refused.json()).toMatchObject({
      error: { code: 'rate_limit_exceeded', type: 'requests', message: expect.any(String) },
    });
    // A refused request takes nothing: no upstream call, no hold, no record.
    expect(g.fake.stats.requests).toBe(4);
    expect(await usageRows(g, c.user.id)).toHaveLength(4);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 16);
    g.t.clock.advance(MINUTE);
    expect((await chat(c.secret)).statusCode).toBe(200);
  });

  it('a streamed answer carries the x-ratelimit-* headers with its event-stream ones', async () => {
    const c = await newCaller(g);
    const res = await chat(c.secret, { ...usage(), stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-ratelimit-limit-requests': '4',
      'x-ratelimit-remaining-requests': '3',
      'x-ratelimit-reset-requests': `${toNextMinute()}s`,
    });
    expect(res.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('the SDK sees a RateLimitError with its headers', async () => {
    const c = await newCaller(g);
    const client = sdk(g, c.secret);
    for (let i = 0; i < 4; i++)
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    const error = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const limited = error as RateLimitError;
    expect(limited).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-limit-requests')).toBe('4');
  });

  it('RPD per user: the seventh call of the day is refused until the next day', async () => {
    const c = await newCaller(g);
    expect(await statuses(c.secret, 4)).toEqual([200, 200, 200, 200]);
    g.t.clock.advance(MINUTE);
    expect(await statuses(c.secret, 3)).toEqual([200, 200, 429]);
    const refused = await chat(c.secret);
    expect(refused.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    expect(Number(refused.headers['retry-after'])).toBe(Math.ceil((DAY - (g.t.clock.now() % DAY)) / 1000));
    g.t.clock.advance(DAY);
    expect((await chat(c.secret)).statusCode).toBe(200);
  });

  it('TPM per user counts the worst case at admission and what was used after', async () => {
    const c = await newCaller(g);
    // Estimate = a ~15-token prompt guess + max_tokens; settled to the real 1500 + 1000.
    const first = await chat(c.secret, { ...usage('usage=1500,1000'), max_tokens: 2000 });
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('5000');
    const refused = await chat(c.secret, { ...usage(), max_tokens: 3000 });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'tokens' } });
    // The refused 3015 were not kept: 2500 + 2015 still fits.
    expect((await chat(c.secret, { ...usage(), max_tokens: 2000 })).statusCode).toBe(200);
    g.t.clock.advance(MINUTE);
    expect((await chat(c.secret, { ...usage(), max_tokens: 3000 })).statusCode).toBe(200);
    expect(g.fake.stats.requests).toBe(3);
  });

  it('concurrency per user: a third call while two stream is refused; a slot frees when a call ends', async () => {
    const c = await newCaller(g);
    const client = sdk(g, c.secret);
    const controllers = [new AbortController(), new AbortController()];
    await Promise.all(
      controllers.map((controller) =>
        client.chat.completions.create(
          { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true, ...usage('stall-after=2') },
          { signal: controller.signal },
        ),
      ),
    );
    const refused = await chat(c.secret);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({
      error: { code: 'rate_limit_exceeded', message: expect.stringContaining('2') },
    });
    for (const controller of controllers) controller.abort();
    await eventually(
      async () =>
        (await usageRows(g, c.user.id)).length === 2 && (await g.t.app.services.credits.openHolds(c.user.id)) === 0,
      'both streams settled',
    );
    expect((await chat(c.secret)).statusCode).toBe(200);
    expect((await usageRows(g, c.user.id)).map((r) => r.end_reason).sort()).toEqual([
      'client_disconnect',
      'client_disconnect',
      'stop',
    ]);
  });

  it('a slot is free once the answer is: back-to-back calls on a key allowed one at a time are never refused', async () => {
    const c = await newCaller(g, { rateLimits: { concurrency: 1 } });
    const client = sdk(g, c.secret);
    for (let i = 0; i < 2; i++) {
      // (Four calls: the user's RPM here.)
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...usage() });
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        ...usage(),
      });
      for await (const chunk of stream) expect(chunk.object).toBe('chat.completion.chunk');
    }
    expect(await usageRows(g, c.user.id)).toHaveLength(4);
  });

  it("a key's own limits tighten its owner's, never loosen them; a refusal by the key takes nothing from the user", async () => {
    const c = await newCaller(g, { rateLimits: { rpm: 1 } });
    const ok = await chat(c.secret);
    expect(ok.headers['x-ratelimit-limit-requests']).toBe('1');
    expect((await chat(c.secret)).statusCode).toBe(429);
    const plain = await createKey(g.t, c.user);
    // user: 1 used; the key's refusal gave its user slot back, so 3 are left.
    expect(await statuses(plain.secret, 4)).toEqual([200, 200, 200, 429]);

    const loose = await newCaller(g, { rateLimits: { rpm: 100 } });
    expect(await statuses(loose.secret, 5)).toEqual([200, 200, 200, 200, 429]);
    const daily = await newCaller(g, { rateLimits: { rpd: 2 } });
    expect(await statuses(daily.secret, 3)).toEqual([200, 200, 429]);
  });

  it('a call refused for credits takes no place in the limits', async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 1);
    expect(await statuses(c.secret, 3)).toEqual([402, 402, 402]);
    await setBalance(g, c.user.id, 1000);
    expect(await statuses(c.secret, 5)).toEqual([200, 200, 200, 200, 429]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 16);
  });

  it('admins are not limited by default', async () => {
    const adminId = (await g.t.app.services.users.findByEmail(ADMIN_ENV.ADMIN_EMAIL))!.id;
    expect(
      (
        await call(g.t.app, 'POST', `/api/admin/users/${adminId}/credits`, {
          token: g.admin,
          body: { amount: 1000, reason: 'test' },
        })
      ).statusCode,
    ).toBe(200);
    const key = await call(g.t.app, 'POST', '/api/keys', { token: g.admin, body: { name: 'admin key' } });
    const secret = key.json<{ key: string }>().key;
    const results = await statuses(secret, 10);
    expect(results).toEqual(Array(10).fill(200));
    expect((await chat(secret)).headers['x-ratelimit-limit-requests']).toBeUndefined();
  });
});
