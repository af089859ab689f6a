import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { addChannel, chatBody, createKey, MODEL, PRICE, setPrice } from '#test/helpers/gateway.ts';
import { TestProvider } from '#test/helpers/payments.ts';
import {
  ADMIN_ENV,
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

interface Day {
  date: string;
  newUsers: number;
  calls: number;
  errors: number;
  creditsGranted: number;
  creditsSpent: number;
  latencyAvgMs: number | null;
  latencyP95Ms: number | null;
}
interface Money {
  currency: string;
  received: number;
  refunded: number;
  net: number;
}
interface Overview {
  days: number;
  totals: Omit<Day, 'date'> & { users: number; revenue: Money[] };
  daily: Day[];
  revenue: (Money & { date: string })[];
}

const DAY = 86_400_000;
const TZ = 'Asia/Shanghai';
const dateIn = (at: number) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
/** Nearest-rank 95th percentile. */
const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1]!;
const mean = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) / values.length);

describe.each(backends())('the admin overview on $label', (backend) => {
  let t: TestApp;
  let fake: FakeOpenAI;
  let admin: string;
  const wechat = new TestProvider('wechat');

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    t = await createTestApp(backend, {
      env: { ...ADMIN_ENV, ...LONG_SESSIONS, CHECKIN_TZ: TZ },
      overrides: { paymentProviders: [wechat] },
    });
    // Noon in the server's zone: the day after is a calendar day later whatever the hour of the run.
    const today = dateIn(t.clock.now());
    t.clock.set(Date.parse(`${today}T12:00:00+08:00`));
    admin = await adminToken(t);
    await addChannel(t, admin, { baseUrl: fake.url });
    await setPrice(t, admin, MODEL, PRICE);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const overview = async (days: number, token = admin) => {
    const res = await call(t.app, 'GET', `/api/admin/overview?days=${days}`, { token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Overview>();
  };
  const chat = async (secret: string) =>
    call(t.app, 'POST', '/v1/chat/completions', { token: secret, body: chatBody() });
  const usageOf = (userId: string) =>
    t.app.services.database.db.selectFrom('usage_records').selectAll().where('user_id', '=', userId).execute();

  it('counts what was written, per day in CHECKIN_TZ: users, calls, failed calls, credits, revenue and latency', async () => {
    const empty = await overview(7);
    expect(empty.daily).toHaveLength(7);
    expect(empty.totals).toMatchObject({ users: 1, calls: 0, errors: 0, latencyAvgMs: null, latencyP95Ms: null });

    // Day 1: a user (its sign-up bonus), two calls (one slow), one the upstream fails, an admin grant, a paid recharge.
    const first = dateIn(t.clock.now());
    const alice = await registerUser(t);
    const aliceKey = (await createKey(t, alice)).secret;
    expect((await chat(aliceKey)).statusCode).toBe(200);
    fake.next('delay=150');
    expect((await chat(aliceKey)).statusCode).toBe(200);
    fake.next('status=500');
    expect((await chat(aliceKey)).statusCode).toBeGreaterThanOrEqual(500);
    const grant = await call(t.app, 'POST', `/api/admin/users/${alice.id}/credits`, {
      token: admin,
      body: { amount: 250, reason: 'goodwill' },
    });
    expect(grant.statusCode, grant.body).toBe(200);
    const ordered = await call(t.app, 'POST', '/v1/points/recharge', {
      token: alice.accessToken,
      body: { channel: 'wechat_native', packId: 'small' },
    });
    expect(ordered.statusCode, ordered.body).toBe(200);
    const order = ordered.json<{ data: { order: { id: string; orderNo: string; amount: number; credits: number } } }>()
      .data.order;
    await t.app.services.orders.confirmPaid(wechat.pay(order.orderNo, { paidAt: t.clock.now() }), null);

    // Day 2: another user, one call, a part of the recharge refunded.
    t.clock.advance(DAY);
    const second = dateIn(t.clock.now());
    const bob: RegisteredUser = await registerUser(t);
    expect((await chat((await createKey(t, bob)).secret)).statusCode).toBe(200);
    const refunded = await call(t.app, 'POST', `/api/admin/orders/${order.id}/refund`, {
      token: admin,
      body: { amount: 100, reason: 'partial' },
    });
    expect(refunded.statusCode, refunded.body).toBe(200);

    const aliceCalls = await usageOf(alice.id);
    const bobCalls = await usageOf(bob.id);
    expect(aliceCalls.map((r) => r.status).sort()).toEqual(['error', 'ok', 'ok']);
    expect(bobCalls).toHaveLength(1);
    const charged = (rows: typeof aliceCalls) => rows.reduce((sum, r) => sum + r.credits, 0);
    const bonus = t.config.SIGNUP_BONUS;

    const seen = await overview(7);
    expect(seen.daily.map((d) => d.date).slice(-2)).toEqual([first, second]);
    const [day1, day2] = seen.daily.slice(-2);
    expect(day1).toEqual({
      date: first,
      newUsers: 2, // the first admin and alice
      calls: 3,
      errors: 1,
      creditsGranted: bonus + 250 + order.credits,
      creditsSpent: charged(aliceCalls),
      latencyAvgMs: mean(aliceCalls.map((r) => r.latency_ms)),
      latencyP95Ms: p95(aliceCalls.map((r) => r.latency_ms)),
    });
    expect(Math.max(...aliceCalls.map((r) => r.latency_ms))).toBeGreaterThanOrEqual(150);
    expect(day1!.latencyP95Ms).toBe(Math.max(...aliceCalls.map((r) => r.latency_ms)));
    expect(day2).toEqual({
      date: second,
      newUsers: 1,
      calls: 1,
      errors: 0,
      creditsGranted: bonus,
      creditsSpent: charged(bobCalls),
      latencyAvgMs: bobCalls[0]!.latency_ms,
      latencyP95Ms: bobCalls[0]!.latency_ms,
    });
    expect(seen.daily.slice(0, -2).every((d) => d.calls === 0 && d.latencyAvgMs === null)).toBe(true);
    const all = [...aliceCalls, ...bobCalls].map((r) => r.latency_ms);
    expect(seen.totals).toEqual({
      users: 3,
      newUsers: 3,
      calls: 4,
      errors: 1,
      creditsGranted: 2 * bonus + 250 + order.credits,
      creditsSpent: charged(aliceCalls) + charged(bobCalls),
      latencyAvgMs: mean(all),
      latencyP95Ms: p95(all),
      revenue: [{ currency: 'CNY', received: order.amount, refunded: 100, net: order.amount - 100 }],
    });
    expect(seen.revenue).toEqual([
      { date: first, currency: 'CNY', received: order.amount, refunded: 0, net: order.amount },
      { date: second, currency: 'CNY', received: 0, refunded: 100, net: -100 },
    ]);

    // A one-day window is today alone.
    const today = await overview(1);
    expect(today.daily.map((d) => d.date)).toEqual([second]);
    expect(today.totals).toMatchObject({ calls: 1, newUsers: 1, creditsGranted: bonus });
    expect(today.totals.revenue).toEqual([{ currency: 'CNY', received: 0, refunded: 100, net: -100 }]);
  });

  it("reads an account's calls for admins, with the user log's filters; users and bad input are refused", async () => {
    const carol = await registerUser(t);
    const secret = (await createKey(t, carol)).secret;
    expect((await chat(secret)).statusCode).toBe(200);
    fake.next('status=500');
    await chat(secret);
    const read = async (query: string) => {
      const res = await call(t.app, 'GET', `/api/admin/users/${carol.id}/usage?${query}`, { token: admin });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ items: { status: string; model: string; credits: number }[]; total: number }>();
    };
    expect((await read('')).total).toBe(2);
    expect((await read('status=error')).items.map((i) => i.status)).toEqual(['error']);
    const rows = await usageOf(carol.id);
    expect((await read('status=ok')).items[0]!.credits).toBe(rows.find((r) => r.status === 'ok')!.credits);

    const missing = await call(t.app, 'GET', '/api/admin/users/nobody/usage', { token: admin });
    expect(missing.statusCode).toBe(404);
    for (const url of [`/api/admin/users/${carol.id}/usage`, '/api/admin/overview']) {
      expect((await call(t.app, 'GET', url, { token: carol.accessToken })).statusCode).toBe(403);
      expect((await call(t.app, 'GET', url)).statusCode).toBe(401);
    }
    for (const days of ['0', '91', 'x']) {
      const res = await call(t.app, 'GET', `/api/admin/overview?days=${days}`, { token: admin });
      expect(res.statusCode, days).toBe(400);
    }
  });
});
