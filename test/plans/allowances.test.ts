import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localMidnight } from '#modules/plans/calendar.ts';
import type { Entitlements } from '#modules/plans/plans.model.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { backends, call } from '#test/helpers/test-app.ts';
import {
  balanceOf,
  chatBody,
  expectBooksBalanced,
  newCaller,
  setBalance,
  startGateway,
  v1,
  type Caller,
  type Gateway,
} from '#test/helpers/gateway.ts';

const DAY = 86_400_000;
/** usage=100,100 at the suites' price (1 + 100/100 + 100/50): 4 credits a call. */
const FOUR = { fake_behavior: 'usage=100,100', max_tokens: 100 };

interface AllowanceJson {
  metric: string;
  period: string;
  limit: number;
  used: number;
  remaining: number;
  resetsAt: string;
}

describe.each(backends())('plan allowances on the paid-call path ($label)', (backend) => {
  let g: Gateway;
  let n = 0;
  beforeAll(async () => {
    g = await startGateway(backend, {
      env: {
        RATE_LIMIT_USER_RPM: '0',
        RATE_LIMIT_USER_CONCURRENCY: '0',
        CHECKIN_TZ: 'Asia/Shanghai',
        ...LONG_SESSIONS,
      },
    });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  /** A new caller holding a new plan with `terms` (for `days`, or for life). */
  async function planned(terms: Partial<Entitlements>, days: number | null = 30): Promise<Caller> {
    const { plans } = g.t.app.services;
    n += 1;
    const plan = await plans.create({
      code: `test-${n}`,
      name: `Test ${n}`,
      level: 1,
      price: 100,
      durationDays: days,
      entitlements: terms,
    });
    const caller = await newCaller(g);
    await plans.activate({
      userId: caller.user.id,
      planId: plan.id,
      mode: 'set',
      source: 'admin',
      sourceRef: null,
      idempotencyKey: `test:${caller.user.id}`,
    });
    return caller;
  }
  const chat = (c: Caller, extra: Record<string, unknown> = FOUR) =>
    v1(g, c.secret, 'POST', '/v1/chat/completions', chatBody(extra));
  const allowances = async (c: Caller) =>
    (await call(g.t.app, 'GET', '/v1/vip/info', { token: c.user.accessToken })).json<{
      data: { allowances: AllowanceJson[] };
    }>().data.allowances;

  it('requests per day: exact at the boundary, a clear 429 naming the allowance and its reset, and a new day at local midnight', async () => {
    // 23:30 in Shanghai: the window ends half an hour later.
    const today = new Date(g.t.clock.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.parse(today) + DAY).toISOString().slice(0, 10);
    const midnight = localMidnight(tomorrow, 'Asia/Shanghai');
    g.t.clock.set(midnight - 30 * 60_000);
    const c = await planned({ allowances: [{ metric: 'requests', period: 'day', limit: 3 }] });
    for (let i = 0; i < 3; i++) expect((await chat(c)).statusCode).toBe(200);
    const refused = await chat(c);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe(String(30 * 60));
    const error = refused.json<{ error: { message: string; code: string } }>().error;
    expect(error.code).toBe('plan_allowance_exceeded');
    expect(error.message).toContain(new Date(midnight).toISOString());
    const [state] = await allowances(c);
    expect(state).toMatchObject({ metric: 'requests', period: 'day', limit: 3, used: 3, remaining: 0 });
    expect(state!.resetsAt).toBe(new Date(midnight).toISOString());
    // One millisecond before local midnight: still refused; at midnight: a new day.
    g.t.clock.set(midnight - 1);
    expect((await chat(c)).statusCode).toBe(429);
    g.t.clock.set(midnight);
    expect((await chat(c)).statusCode).toBe(200);
    expect((await allowances(c))[0]).toMatchObject({ used: 1, remaining: 2 });
    // A refused call took nothing and cost nothing: 4 calls of 4 credits.
    await expectBooksBalanced(g, c.user.id);
  });

  it('a call the upstream fails is charged nothing and takes nothing of the requests allowance', async () => {
    const c = await planned({ allowances: [{ metric: 'requests', period: 'day', limit: 2 }] });
    const before = await balanceOf(g, c.user.id);
    for (const status of [500, 503]) {
      const failed = await chat(c, { ...FOUR, fake_behavior: `status=${status}` });
      expect(failed.statusCode).toBeGreaterThanOrEqual(500);
    }
    expect(await balanceOf(g, c.user.id)).toBe(before);
    expect((await allowances(c))[0]).toMatchObject({ used: 0, remaining: 2 });
    for (let i = 0; i < 2; i++) expect((await chat(c)).statusCode).toBe(200);
    expect((await chat(c)).statusCode).toBe(429);
    await expectBooksBalanced(g, c.user.id);
  });

  it('CONCURRENCY: 30 parallel calls against 10 requests a week: exactly 10 pass', async () => {
    const c = await planned({ allowances: [{ metric: 'requests', period: 'week', limit: 10 }] });
    const results = await Promise.all(Array.from({ length: 30 }, () => chat(c)));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(10);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(20);
    expect((await allowances(c))[0]).toMatchObject({ used: 10, remaining: 0 });
  });

  it('credits per day: reserved at admission like a hold, corrected to the charge; a 402 names it; parallel calls never pass it', async () => {
    const c = await planned({ allowances: [{ metric: 'credits', period: 'day', limit: 22 }] });
    const results = await Promise.all(Array.from({ length: 12 }, () => chat(c)));
    const passed = results.filter((r) => r.statusCode === 200).length;
    expect(results.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 402)).toBe(true);
    const used = (await allowances(c))[0]!.used;
    expect(used).toBe(4 * passed);
    expect(used).toBeLessThanOrEqual(22);
    // One by one, the rest of the allowance is used to the credit: 5 calls (20), then 402.
    while ((await chat(c)).statusCode === 200);
    const state = (await allowances(c))[0]!;
    expect(state.used).toBe(20);
    const refused = await chat(c);
    expect(refused.statusCode).toBe(402);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('plan_allowance_exceeded');
    await expectBooksBalanced(g, c.user.id);
  });

  it('tokens per day: a call without an output limit is cut to what is left of the allowance, and counted at what it used', async () => {
    const c = await planned({ allowances: [{ metric: 'tokens', period: 'day', limit: 1000 }] });
    const res = await chat(c, { fake_behavior: 'usage=20,30' });
    expect(res.statusCode).toBe(200);
    const sent = g.fake.lastRequest('/chat/completions')!.body as { max_completion_tokens?: number };
    expect(sent.max_completion_tokens).toBeGreaterThan(900);
    expect(sent.max_completion_tokens).toBeLessThan(1000);
    expect((await allowances(c))[0]).toMatchObject({ used: 50, remaining: 950 });
    // A call that asks more than is left, with its own limit, is refused.
    expect((await chat(c, { max_tokens: 2000 })).statusCode).toBe(429);
  });

  it('the model allow-list refuses others with 403, the multiplier scales the price, rate-limit overrides replace the role’s', async () => {
    const c = await planned({
      models: ['gpt-4o*'],
      multiplierPermille: 500,
      rateLimits: { rpm: 2, tpm: 0, concurrency: 0, rpd: 0 },
    });
    await setBalance(g, c.user.id, 100);
    const refused = await chat(c, { ...FOUR, model: 'gpt-3.5-turbo-instruct' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json<{ error: { code: string; param: string } }>().error).toMatchObject({
      code: 'model_not_allowed',
      param: 'model',
    });
    expect((await chat(c)).statusCode).toBe(200);
    expect(await balanceOf(g, c.user.id)).toBe(98); // 4 × 0.5
    expect((await chat(c)).statusCode).toBe(200);
    const limited = await chat(c);
    expect(limited.statusCode).toBe(429);
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('rate_limit_exceeded');
  });

  it('a plan ends on time: past its end its allowances, models and multiplier no longer apply', async () => {
    const c = await planned({ allowances: [{ metric: 'requests', period: 'month', limit: 1 }], models: ['none'] }, 2);
    expect((await chat(c)).statusCode).toBe(403);
    g.t.clock.advance(2 * DAY);
    expect((await chat(c)).statusCode).toBe(200);
    expect((await chat(c)).statusCode).toBe(200);
  });
});
