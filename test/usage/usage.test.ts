import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { backends, call, type RegisteredUser } from '#test/helpers/test-app.ts';
import { chatBody, createKey, newCaller, startGateway, v1, type Gateway } from '#test/helpers/gateway.ts';

const DAY = 86_400_000;
const usage = (spec = 'usage=100,100') => ({ fake_behavior: spec });

interface LogItem {
  id: string;
  requestId: string;
  keyId: string | null;
  endpoint: string;
  model: string;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  credits: number;
  latencyMs: number;
  status: string;
  httpStatus: number;
  endReason: string;
  usageSource: string;
  createdAt: string;
}

/** YYYY-MM-DD of `ms` in Asia/Shanghai (the default CHECKIN_TZ the statistics count days in). */
const shanghaiDate = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

describe.each(backends())('usage records on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { env: { ...LONG_SESSIONS, USAGE_RETENTION_DAYS: '30' } });
    // Start at noon in Shanghai, so the day walks below never straddle a midnight.
    const now = g.t.clock.now();
    const noon = Date.parse(`${shanghaiDate(now)}T04:00:00Z`);
    g.t.clock.advance((noon > now ? noon : noon + DAY) - now);
  });
  afterAll(() => g.close());

  const get = async <T>(user: RegisteredUser, url: string) => {
    const res = await call(g.t.app, 'GET', url, { token: user.accessToken });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<T>();
  };
  const logs = (user: RegisteredUser, query = '') =>
    get<{ items: LogItem[]; total: number; page: number; limit: number }>(user, `/api/usage/logs${query}`);
  /** One call a second, so the newest-first order is plain. */
  const callAs = async (secret: string, body: Record<string, unknown>) => {
    g.t.clock.advance(1000);
    return v1(g, secret, 'POST', '/v1/chat/completions', chatBody(body));
  };

  it('GET /api/usage/logs pages newest first, filters by model, status and key, and shows only your own', async () => {
    const c = await newCaller(g);
    const second = await createKey(g.t, c.user, { name: 'second' });
    await callAs(c.secret, usage());
    await callAs(c.secret, { model: 'gpt-4o', ...usage('usage=1000,1000') });
    await callAs(second.secret, usage());
    expect((await callAs(second.secret, usage('status=400'))).statusCode).toBe(400);
    await callAs(c.secret, { stream: true, ...usage() });
    const other = await newCaller(g);
    await callAs(other.secret, usage());

    const all = await logs(c.user, '?limit=2');
    expect(all).toMatchObject({ total: 5, page: 1, limit: 2 });
    expect(all.items[0]).toEqual({
      id: expect.any(String),
      requestId: expect.any(String),
      keyId: c.keyId,
      endpoint: 'chat.completions',
      model: 'gpt-4o-mini',
      stream: true,
      inputTokens: 100,
      outputTokens: 100,
      credits: 4,
      overrun: 0,
      latencyMs: expect.any(Number),
      status: 'ok',
      httpStatus: 200,
      endReason: 'stop',
      usageSource: 'upstream',
      createdAt: new Date(g.t.clock.now() - 1000).toISOString(),
    });
    expect(all.items[1]).toMatchObject({
      keyId: second.key.id,
      status: 'error',
      httpStatus: 400,
      credits: 0,
      endReason: 'upstream_refused',
    });
    expect((await logs(c.user, '?limit=2&page=3')).items.map((i) => [i.model, i.credits])).toEqual([
      ['gpt-4o-mini', 4],
    ]);
    // gpt-4o at the shipped price: 1000 × 2.5/1K + 1000 × 10/1K = 12.5 → 13
    expect((await logs(c.user, '?model=gpt-4o')).items.map((i) => [i.model, i.credits])).toEqual([['gpt-4o', 13]]);
    expect((await logs(c.user, '?status=error')).items.map((i) => i.httpStatus)).toEqual([400]);
    expect((await logs(c.user, `?keyId=${second.key.id}`)).items.map((i) => i.status)).toEqual(['error', 'ok']);
    expect((await logs(c.user, `?keyId=${other.keyId}`)).total).toBe(0);
    expect((await logs(other.user)).items.map((i) => i.keyId)).toEqual([other.keyId]);
    for (const query of ['?limit=0', '?limit=101', '?status=bogus', '?page=0', '?color=red']) {
      expect(
        (await call(g.t.app, 'GET', `/api/usage/logs${query}`, { token: c.user.accessToken })).statusCode,
        query,
      ).toBe(400);
    }
    expect((await call(g.t.app, 'GET', '/api/usage/logs')).statusCode).toBe(401);
  });

  it('GET /api/usage/stats, /api/dify/usage-stats and /api/user/stats add up the calls per day', async () => {
    const c = await newCaller(g);
    await callAs(c.secret, usage());
    await callAs(c.secret, usage());
    const yesterday = shanghaiDate(g.t.clock.now());
    g.t.clock.advance(DAY);
    await callAs(c.secret, { model: 'gpt-4o', ...usage('usage=1000,1000') });
    const today = shanghaiDate(g.t.clock.now());

    const stats = await get<{ days: unknown[]; totals: unknown }>(c.user, '/api/usage/stats?days=3');
    expect(stats.days).toEqual([
      { date: shanghaiDate(g.t.clock.now() - 2 * DAY), requests: 0, inputTokens: 0, outputTokens: 0, credits: 0 },
      { date: yesterday, requests: 2, inputTokens: 200, outputTokens: 200, credits: 8 },
      { date: today, requests: 1, inputTokens: 1000, outputTokens: 1000, credits: 13 },
    ]);
    expect(stats.totals).toEqual({ requests: 3, inputTokens: 1200, outputTokens: 1200, credits: 21 });
    expect((await get<{ days: unknown[] }>(c.user, '/api/usage/stats')).days).toHaveLength(7);

    const dify = await get<unknown>(c.user, '/api/dify/usage-stats?days=2');
    expect(dify).toEqual({
      totalRequests: 3,
      totalCreditsUsed: 21,
      dailyStats: [
        { date: yesterday, requests: 2, creditsUsed: 8 },
        { date: today, requests: 1, creditsUsed: 13 },
      ],
    });
    expect((await get<{ totalApiCalls: number }>(c.user, '/api/user/stats')).totalApiCalls).toBe(3);
    for (const query of ['?days=0', '?days=367', '?days=x']) {
      expect(
        (await call(g.t.app, 'GET', `/api/usage/stats${query}`, { token: c.user.accessToken })).statusCode,
        query,
      ).toBe(400);
    }
  });

  it('GET /api/usage/daily-by-model splits each day by model and shows only your own calls', async () => {
    const c = await newCaller(g);
    await callAs(c.secret, usage());
    await callAs(c.secret, { model: 'gpt-4o', ...usage('usage=1000,1000') });
    const yesterday = shanghaiDate(g.t.clock.now());
    g.t.clock.advance(DAY);
    await callAs(c.secret, usage());
    await callAs(c.secret, usage());
    const today = shanghaiDate(g.t.clock.now());
    const other = await newCaller(g);
    await callAs(other.secret, usage());

    const byModel = await get<{ dates: string[]; items: unknown[] }>(c.user, '/api/usage/daily-by-model?days=7');
    expect(byModel.dates).toHaveLength(7);
    expect(byModel.dates.slice(-2)).toEqual([yesterday, today]);
    expect(byModel.items).toEqual([
      { date: yesterday, model: 'gpt-4o', requests: 1, inputTokens: 1000, outputTokens: 1000, credits: 13 },
      { date: yesterday, model: 'gpt-4o-mini', requests: 1, inputTokens: 100, outputTokens: 100, credits: 4 },
      { date: today, model: 'gpt-4o-mini', requests: 2, inputTokens: 200, outputTokens: 200, credits: 8 },
    ]);
    // A one-day window holds today only.
    expect(await get<unknown>(c.user, '/api/usage/daily-by-model?days=1')).toEqual({
      dates: [today],
      items: [{ date: today, model: 'gpt-4o-mini', requests: 2, inputTokens: 200, outputTokens: 200, credits: 8 }],
    });
    for (const query of ['?days=0', '?days=367', '?days=x']) {
      const res = await call(g.t.app, 'GET', `/api/usage/daily-by-model${query}`, { token: c.user.accessToken });
      expect(res.statusCode, query).toBe(400);
    }
    expect((await call(g.t.app, 'GET', '/api/usage/daily-by-model')).statusCode).toBe(401);
  });

  it('records older than USAGE_RETENTION_DAYS are pruned; newer ones stay', async () => {
    const c = await newCaller(g);
    await callAs(c.secret, usage());
    g.t.clock.advance(29 * DAY);
    await callAs(c.secret, usage());
    g.t.clock.advance(2 * DAY);
    await callAs(c.secret, usage());
    expect((await logs(c.user)).total).toBe(3);
    expect(await g.t.app.services.usage.prune(1)).toBeGreaterThanOrEqual(1);
    const left = await logs(c.user);
    expect(left.items.map((i) => i.createdAt)).toEqual([
      new Date(g.t.clock.now()).toISOString(),
      new Date(g.t.clock.now() - 2 * DAY - 1000).toISOString(),
    ]);
    // The money is not touched: the ledger keeps every charge.
    expect(
      (await g.t.app.services.credits.history(c.user.id, 1, 10)).rows.filter((r) => r.kind === 'usage'),
    ).toHaveLength(3);
    expect(await g.t.app.services.usage.prune()).toBe(0);
  });
});
