import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_ENV,
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';

const DAY = 86_400_000;

interface PlanJson {
  id: string;
  code: string;
  name: string;
  level: number;
  price: number;
  durationDays: number | null;
  status: string;
  entitlements: { creditsOnActivation: number };
}

describe.each(backends())('plans on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let plansByCode: Map<string, PlanJson>;

  beforeAll(async () => {
    t = await createTestApp(backend, { env: { ...ADMIN_ENV, ...LONG_SESSIONS } });
    admin = await adminToken(t);
    const res = await call(t.app, 'GET', '/v1/vip/plans');
    plansByCode = new Map(res.json<{ data: PlanJson[] }>().data.map((p) => [p.code, p]));
  });
  afterAll(() => t?.close());

  const balance = async (userId: string) => (await t.app.services.credits.account(userId)).balance;
  const info = async (token: string) =>
    (await call(t.app, 'GET', '/v1/vip/info', { token })).json<{
      success: boolean;
      data: { isVip: boolean; level: number; expiresAt: string | null; plan: { code: string } | null };
    }>();
  const setVip = (userId: string, body: Record<string, unknown>, key?: string, token = admin) =>
    call(t.app, 'PUT', `/v1/admin/users/${userId}/vip`, {
      token,
      body,
      ...(key ? { headers: { 'idempotency-key': key } } : {}),
    });

  it('a new database offers the three seed plans (Monthly, Yearly, Lifetime), in seed 003’s envelope and on /api/plans', async () => {
    expect([...plansByCode.keys()]).toEqual(['monthly', 'yearly', 'lifetime']);
    expect([...plansByCode.values()].map((p) => [p.name, p.level, p.durationDays])).toEqual([
      ['Monthly', 1, 30],
      ['Yearly', 2, 365],
      ['Lifetime', 3, null],
    ]);
    const console = await call(t.app, 'GET', '/api/plans');
    expect(console.json<PlanJson[]>().map((p) => p.code)).toEqual(['monthly', 'yearly', 'lifetime']);
  });

  it('purchase checks the plan (unknown: 404) and then says payments are not configured (503), changing nothing', async () => {
    const user = await registerUser(t);
    const unknown = await call(t.app, 'POST', '/v1/vip/purchase', {
      token: user.accessToken,
      body: { planId: 'nope' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ success: false, statusCode: 404 });
    const known = await call(t.app, 'POST', '/v1/vip/purchase', {
      token: user.accessToken,
      body: { planId: 'monthly' },
      lang: 'en',
    });
    expect(known.statusCode).toBe(503);
    expect(known.json<{ message: string }>().message).toMatch(/Payments are not configured/);
    expect((await info(user.accessToken)).data.isVip).toBe(false);
  });

  it('an admin sets a plan for days: the plan and its credits once, a replay with the same Idempotency-Key changes nothing; a user may not', async () => {
    const user = await registerUser(t);
    const before = await balance(user.id);
    const refused = await setVip(user.id, { planId: 'monthly', days: 10 }, undefined, user.accessToken);
    expect(refused.statusCode).toBe(403);
    const set = await setVip(user.id, { planId: 'monthly', days: 10 }, 'k-1');
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ success: true, data: { applied: true, creditsGranted: 3000 } });
    const audit = await call(t.app, 'GET', `/api/admin/audit?targetType=user&targetId=${user.id}`, { token: admin });
    expect(audit.json<{ items: unknown[] }>().items).toMatchObject([
      {
        route: '/v1/admin/users/:id/vip',
        target: { type: 'user', id: user.id },
        before: { plan: null },
        after: { plan: { planCode: 'monthly' }, creditsGranted: 3000 },
      },
    ]);
    const again = await setVip(user.id, { planId: 'monthly', days: 10 }, 'k-1');
    expect(again.json()).toMatchObject({ data: { applied: false } });
    expect(await balance(user.id)).toBe(before + 3000);
    const { data } = await info(user.accessToken);
    expect(data).toMatchObject({ isVip: true, level: 1, plan: { code: 'monthly' } });
    expect(Date.parse(data.expiresAt!)).toBe(t.clock.now() + 10 * DAY);
    // The same data on the console.
    const me = await call(t.app, 'GET', '/api/plans/me', { token: user.accessToken });
    expect(me.json()).toMatchObject({ isVip: true, level: 1 });
    const cancel = await call(t.app, 'DELETE', `/v1/admin/users/${user.id}/vip`, { token: admin });
    expect(cancel.statusCode).toBe(200);
    expect((await info(user.accessToken)).data.isVip).toBe(false);
    expect((await call(t.app, 'DELETE', `/v1/admin/users/${user.id}/vip`, { token: admin })).statusCode).toBe(404);
    expect((await setVip('no-such-user', { planId: 'monthly' })).statusCode).toBe(404);
    expect((await setVip(user.id, { planId: 'monthly', level: 1 })).statusCode).toBe(400);
    // Credits granted stay when the plan is cancelled (they were the user's from activation).
    expect(await balance(user.id)).toBe(before + 3000);
  });

  it('the level rule: renewing extends from the current end, an upgrade keeps the time left, the same or a lower level is refused', async () => {
    const { plans } = t.app.services;
    const user = await registerUser(t);
    const activate = (code: string, key: string) =>
      plans.activate({
        userId: user.id,
        planId: plansByCode.get(code)!.id,
        mode: 'rule',
        source: 'redeem',
        sourceRef: null,
        idempotencyKey: `${user.id}:${key}`,
      });
    const now = t.clock.now();
    const first = await activate('monthly', 'a');
    expect(first.subscription.expires_at).toBe(now + 30 * DAY);
    const renewed = await activate('monthly', 'b');
    expect(renewed.subscription.expires_at).toBe(now + 60 * DAY);
    const upgraded = await activate('yearly', 'c');
    expect(upgraded.subscription.expires_at).toBe(now + 365 * DAY + 60 * DAY);
    await expect(activate('monthly', 'd')).rejects.toMatchObject({ code: 'PLAN_CHANGE_REFUSED', status: 409 });
    const lifetime = await activate('lifetime', 'e');
    expect(lifetime.subscription.expires_at).toBeNull();
    await expect(activate('lifetime', 'f')).rejects.toMatchObject({ code: 'PLAN_ALREADY_LIFETIME' });
    await expect(activate('yearly', 'g')).rejects.toMatchObject({ code: 'PLAN_CHANGE_REFUSED' });
    // Credits of every accepted activation, once each.
    const granted = 3000 * 2 + 40000 + 100000;
    const ledger = await t.app.services.credits.history(user.id, 1, 100, { kind: 'plan' });
    expect(ledger.rows.reduce((sum, row) => sum + Number(row.amount), 0)).toBe(granted);
  });

  it('a plan ends on time with no process: past its end it is gone on every read, and a new one may start', async () => {
    const user = await registerUser(t);
    await setVip(user.id, { planId: 'yearly', days: 1 }, `exp-${user.id}`);
    expect((await info(user.accessToken)).data.level).toBe(2);
    expect((await t.app.services.plans.activePlan(user.id))?.code).toBe('yearly');
    t.clock.advance(DAY);
    expect((await info(user.accessToken)).data).toMatchObject({ isVip: false, level: 0 });
    expect(await t.app.services.plans.activePlan(user.id)).toBeNull();
    // A lower plan may now start: the ended one does not block it.
    const monthly = await t.app.services.plans.activate({
      userId: user.id,
      planId: plansByCode.get('monthly')!.id,
      mode: 'rule',
      source: 'redeem',
      sourceRef: null,
      idempotencyKey: `after-${user.id}`,
    });
    expect(monthly.subscription.level).toBe(1);
  });

  it('20 parallel activations of one plan for one user with one key: one subscription and one grant', async () => {
    const user = await registerUser(t);
    const before = await balance(user.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => setVip(user.id, { planId: 'monthly', days: 3 }, `race-${user.id}`)),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(results.filter((r) => r.json<{ data: { applied: boolean } }>().data.applied)).toHaveLength(1);
    expect(await balance(user.id)).toBe(before + 3000);
  });

  it('admins create, reprice and retire plans: running subscriptions keep their price and terms, retired plans are not offered', async () => {
    const created = await call(t.app, 'POST', '/api/admin/plans', {
      token: admin,
      body: {
        code: `pro-${backend.dialect}`,
        name: 'Pro',
        level: 5,
        price: 1000,
        durationDays: 7,
        benefits: ['fast'],
        entitlements: { creditsOnActivation: 10, allowances: [{ metric: 'requests', period: 'day', limit: 5 }] },
      },
    });
    expect(created.statusCode).toBe(201);
    const plan = created.json<PlanJson>();
    expect(
      (await call(t.app, 'POST', '/api/admin/plans', { token: admin, body: { ...plan, id: undefined } })).statusCode,
    ).toBe(400);
    const user = await registerUser(t);
    await call(t.app, 'PUT', `/api/admin/users/${user.id}/plan`, { token: admin, body: { planId: plan.id } });
    const patched = await call(t.app, 'PATCH', `/api/admin/plans/${plan.id}`, {
      token: admin,
      body: { price: 5000, entitlements: { creditsOnActivation: 99 } },
    });
    expect(patched.json()).toMatchObject({ price: 5000, entitlements: { creditsOnActivation: 99 } });
    const priceAudit = await call(t.app, 'GET', `/api/admin/audit?targetType=plan&targetId=${plan.id}`, {
      token: admin,
    });
    expect(priceAudit.json<{ items: unknown[] }>().items[0]).toMatchObject({
      before: { price: 1000 },
      after: { price: 5000 },
    });
    const mine = await call(t.app, 'GET', `/api/admin/users/${user.id}/plan`, { token: admin });
    expect(mine.json()).toMatchObject({ isVip: true, plan: { code: plan.code } });
    const sub = await t.app.services.plans.currentRow(user.id);
    expect(Number(sub!.price_fen)).toBe(1000);
    expect(JSON.parse(sub!.terms)).toMatchObject({ creditsOnActivation: 10 });
    const retired = await call(t.app, 'DELETE', `/api/admin/plans/${plan.id}`, { token: admin });
    expect(retired.json()).toMatchObject({ status: 'retired' });
    const offered = (await call(t.app, 'GET', '/v1/vip/plans')).json<{ data: PlanJson[] }>().data;
    expect(offered.map((p) => p.code)).not.toContain(plan.code);
    const purchase = await call(t.app, 'POST', '/v1/vip/purchase', {
      token: user.accessToken,
      body: { planId: plan.code },
    });
    expect(purchase.statusCode).toBe(404);
    expect((await info(user.accessToken)).data.plan?.code).toBe(plan.code);
    const all = await call(t.app, 'GET', '/api/admin/plans?includeRetired=true', { token: admin });
    expect(all.json<Array<PlanJson & { subscribers: number }>>().find((p) => p.id === plan.id)).toMatchObject({
      status: 'retired',
      subscribers: 1,
    });
    expect((await call(t.app, 'GET', '/api/admin/plans', { token: user.accessToken })).statusCode).toBe(403);
  });

  it('redeem codes activate a plan for N days, with or without credits, once, in one transaction with the grant', async () => {
    const batch = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 1, credits: 0, planId: 'monthly', planDays: 7, maxUses: 5 },
    });
    expect(batch.statusCode).toBe(200);
    const code = batch.json<{ codes: Array<{ code: string; planId: string; planDays: number }> }>().codes[0]!;
    expect(code).toMatchObject({ planId: plansByCode.get('monthly')!.id, planDays: 7 });
    const nothing = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 1, credits: 0 },
    });
    expect(nothing.statusCode).toBe(400);
    const user = await registerUser(t);
    const before = await balance(user.id);
    const ip = freshIp();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(t.app, 'POST', '/api/credits/redeem', { token: user.accessToken, body: { code: code.code }, ip }),
      ),
    );
    const ok = results.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.json()).toMatchObject({ creditsAdded: 3000, plan: { code: 'monthly' } });
    expect(await balance(user.id)).toBe(before + 3000);
    const { data } = await info(user.accessToken);
    expect(Date.parse(data.expiresAt!)).toBe(t.clock.now() + 7 * DAY);
    // Both credits and a plan: a lower plan than the current one is refused and the code stays unused.
    const both = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 1, credits: 50, planId: plansByCode.get('yearly')!.id },
    });
    const other = await registerUser(t);
    await setVip(other.id, { planId: 'lifetime' }, `life-${other.id}`);
    const lifeBalance = await balance(other.id);
    const bothCode = both.json<{ codes: Array<{ code: string }> }>().codes[0]!.code;
    const refused = await call(t.app, 'POST', '/api/credits/redeem', {
      token: other.accessToken,
      body: { code: bothCode },
    });
    expect(refused.statusCode).toBe(409);
    expect(await balance(other.id)).toBe(lifeBalance);
    const third = await registerUser(t);
    const thirdBefore = await balance(third.id);
    const taken = await call(t.app, 'POST', '/api/credits/redeem', {
      token: third.accessToken,
      body: { code: bothCode },
    });
    expect(taken.json()).toMatchObject({ creditsAdded: 50 + 40000, plan: { code: 'yearly' } });
    expect(await balance(third.id)).toBe(thirdBefore + 40050);
  });

  it('points are the credits ledger: balance, and transactions newest first by page or cursor, with a type filter', async () => {
    const user = await registerUser(t);
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      await call(t.app, 'POST', `/api/admin/users/${user.id}/credits`, {
        token: admin,
        body: { amount: i + 1, reason: `gift ${i}` },
      });
    }
    const bal = await call(t.app, 'GET', '/v1/points/balance', { token: user.accessToken });
    expect(bal.json()).toMatchObject({ success: true, data: { balance: await balance(user.id) } });
    const page1 = await call(t.app, 'GET', '/v1/points/transactions?limit=2', { token: user.accessToken });
    const body1 = page1.json<{ data: { items: Array<{ amount: number }>; nextCursor: string; total: number } }>();
    expect(body1.data.items.map((i) => i.amount)).toEqual([5, 4]);
    expect(body1.data.total).toBe(6);
    const page2 = await call(t.app, 'GET', `/v1/points/transactions?limit=2&cursor=${body1.data.nextCursor}`, {
      token: user.accessToken,
    });
    expect(page2.json<{ data: { items: Array<{ amount: number }> } }>().data.items.map((i) => i.amount)).toEqual([
      3, 2,
    ]);
    const bonus = await call(t.app, 'GET', '/v1/points/transactions?type=signup_bonus', { token: user.accessToken });
    expect(bonus.json<{ data: { items: unknown[]; hasMore: boolean } }>().data).toMatchObject({ hasMore: false });
    expect(bonus.json<{ data: { items: unknown[] } }>().data.items).toHaveLength(1);
    const bad = await call(t.app, 'GET', '/v1/points/transactions?cursor=abc', { token: user.accessToken });
    expect(bad.statusCode).toBe(400);
    expect((await call(t.app, 'GET', '/v1/points/balance')).statusCode).toBe(401);
  });
});
