import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { TestProvider } from '#test/helpers/payments.ts';
import { checkOrderBooks } from '#test/reliability/support/order-books.ts';

// The order state machine, with the test-only provider of test/helpers/payments.ts standing in for
// WeChat Pay (the wire protocol is tested with the real fakes in test/payments/).
interface OrderJson {
  id: string;
  orderNo: string;
  status: string;
  amount: number;
  credits: number;
  refundedAmount: number;
}
interface DetailJson extends OrderJson {
  refunds: Array<{
    status: string;
    amount: number;
    creditsReversed: number;
    creditsShortfall: number;
    planEffect: string | null;
  }>;
}

describe.each(backends())('orders on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  const wechat = new TestProvider('wechat');

  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_ENV, overrides: { paymentProviders: [wechat] } });
    admin = await adminToken(t);
  });
  afterAll(() => t?.close());

  const orders = () => t.app.services.orders;
  const balance = async (userId: string) => (await t.app.services.credits.account(userId)).balance;
  const ledgerTies = async (userId: string) =>
    expect(await t.app.services.credits.ledgerSum(userId)).toBe(await balance(userId));
  const recharge = async (user: RegisteredUser, body: Record<string, unknown>) => {
    const res = await call(t.app, 'POST', '/v1/points/recharge', {
      token: user.accessToken,
      body: { channel: 'wechat_native', ...body },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ data: { order: OrderJson } }>().data.order;
  };
  const refund = (orderId: string, body: Record<string, unknown>) =>
    call(t.app, 'POST', `/api/admin/orders/${orderId}/refund`, { token: admin, body });

  it('recharge takes the price from the server: a pack, or an amount within bounds; bad input is a 4xx and makes no order', async () => {
    const user = await registerUser(t);
    const byAmount = await recharge(user, { amount: 1234 });
    expect(byAmount).toMatchObject({ amount: 1234, credits: 1234, status: 'pending' });
    for (const body of [
      { amount: 50 },
      { amount: 100_001 },
      { packId: 'nope' },
      {},
      { packId: 'small', amount: 100 },
    ]) {
      const res = await call(t.app, 'POST', '/v1/points/recharge', { token: user.accessToken, body });
      expect(res.statusCode, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json()).toMatchObject({ success: false });
    }
    const list = await call(t.app, 'GET', '/v1/orders', { token: user.accessToken });
    expect(list.json<{ data: { total: number } }>().data.total).toBe(1);
  });

  it('JSAPI needs a WeChat identity: an email account is told so, and nothing is ordered', async () => {
    const user = await registerUser(t);
    const res = await call(t.app, 'POST', '/v1/vip/purchase', { token: user.accessToken, body: { planId: 'monthly' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'WECHAT_NOT_LINKED' });
    expect((await call(t.app, 'GET', '/api/orders', { token: user.accessToken })).json<{ total: number }>().total).toBe(
      0,
    );
  });

  it('users see only their own orders (page, cursor, status filter); another user’s is 404', async () => {
    const [alice, bob] = [await registerUser(t), await registerUser(t)];
    const made = [];
    for (let i = 0; i < 3; i += 1) made.push(await recharge(alice, { packId: 'small' }));
    await orders().confirmPaid(wechat.pay(made[0]!.orderNo), null);
    const first = await call(t.app, 'GET', '/v1/orders?limit=2', { token: alice.accessToken });
    const page1 = first.json<{ data: { items: OrderJson[]; nextCursor: string; hasMore: boolean; total: number } }>()
      .data;
    expect(page1.total).toBe(3);
    expect(page1.items.map((o) => o.id)).toEqual([made[2]!.id, made[1]!.id]);
    const second = await call(t.app, 'GET', `/v1/orders?limit=2&cursor=${page1.nextCursor}`, {
      token: alice.accessToken,
    });
    expect(second.json<{ data: { items: OrderJson[]; hasMore: boolean } }>().data).toMatchObject({
      items: [{ id: made[0]!.id, status: 'fulfilled' }],
      hasMore: false,
    });
    const fulfilled = await call(t.app, 'GET', '/api/orders?status=fulfilled', { token: alice.accessToken });
    expect(fulfilled.json<{ items: OrderJson[] }>().items.map((o) => o.id)).toEqual([made[0]!.id]);
    expect((await call(t.app, 'GET', `/v1/orders/${made[0]!.orderNo}`, { token: alice.accessToken })).statusCode).toBe(
      200,
    );
    const theirs = await call(t.app, 'GET', `/v1/orders/${made[0]!.id}`, { token: bob.accessToken });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toMatchObject({ success: false, code: 'ORDER_NOT_FOUND' });
    expect((await call(t.app, 'GET', `/api/orders/${made[0]!.id}`, { token: bob.accessToken })).statusCode).toBe(404);
    const bad = await call(t.app, 'GET', '/v1/orders?cursor=nope', { token: alice.accessToken });
    expect(bad.statusCode).toBe(400);
  });

  it('evidence that does not match the order (amount, currency, provider) or names no order changes nothing', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'small' });
    const before = await balance(user.id);
    const good = wechat.pay(order.orderNo);
    for (const bad of [{ amount: good.amount - 1 }, { currency: 'USD' }, { provider: 'stripe' as const }]) {
      await expect(orders().confirmPaid({ ...good, ...bad }, null)).rejects.toMatchObject({ code: 'PAYMENT_MISMATCH' });
    }
    await expect(orders().confirmPaid({ ...good, orderNo: 'f'.repeat(32) }, null)).rejects.toMatchObject({
      code: 'ORDER_NOT_FOUND',
    });
    expect(await balance(user.id)).toBe(before);
    expect((await orders().detail(order.id)).order.status).toBe('pending');
    expect(await orders().confirmPaid(good, null)).toBe('fulfilled');
    expect(await balance(user.id)).toBe(before + 1000);
  });

  it('20 copies of one payment at once fulfil once: one ledger row, the balance ties', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'large' });
    const before = await balance(user.id);
    const evidence = wechat.pay(order.orderNo);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => orders().confirmPaid(evidence, `n${i}`)));
    expect(answers.filter((a) => a === 'fulfilled')).toHaveLength(1);
    expect(await balance(user.id)).toBe(before + 12000);
    await ledgerTies(user.id);
  });

  it('a closed order is never fulfilled: a payment after the close is recorded as paid, for a refund', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'small' });
    const cancelled = await call(t.app, 'POST', `/v1/orders/${order.id}/cancel`, { token: user.accessToken });
    expect(cancelled.json<{ data: OrderJson }>().data.status).toBe('closed');
    const before = await balance(user.id);
    expect(await orders().confirmClosed('wechat', order.orderNo, null)).toBe('already');
    const late = wechat.pay(order.orderNo);
    await orders().confirmPaid(late, null);
    const detail = await orders().detail(order.id);
    expect(detail.order.status).toBe('paid');
    expect(detail.order.transaction_id).toBe(late.transactionId);
    expect(await balance(user.id)).toBe(before);
    const res = await refund(order.id, { reason: 'paid after close' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<DetailJson>()).toMatchObject({
      status: 'refunded',
      refunds: [{ status: 'succeeded', creditsReversed: 0 }],
    });
    expect(await balance(user.id)).toBe(before);
  });

  it('refunds: partial then the rest take credits back in proportion; spent credits are a shortfall, never a negative balance', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'medium' }); // 5500 credits for 5000 fen
    await orders().confirmPaid(wechat.pay(order.orderNo), null);
    const half = await refund(order.id, { amount: 2500, reason: 'half back' });
    expect(half.statusCode, half.body).toBe(200);
    expect(half.json<DetailJson>()).toMatchObject({
      status: 'partially_refunded',
      refundedAmount: 2500,
      refunds: [{ status: 'succeeded', amount: 2500, creditsReversed: 2750, creditsShortfall: 0 }],
    });
    // The user spends nearly everything, then the rest is refunded.
    const left = await balance(user.id);
    await t.app.services.credits.grant(user.id, -(left - 100), {
      kind: 'admin_adjust',
      reason: 'spent',
      idempotencyKey: `spend:${user.id}`,
    });
    const over = await refund(order.id, { amount: 2501, reason: 'too much' });
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ code: 'REFUND_EXCEEDS_PAID' });
    const rest = await refund(order.id, { reason: 'the rest' });
    expect(rest.json<DetailJson>()).toMatchObject({
      status: 'refunded',
      refundedAmount: 5000,
      refunds: [{}, { status: 'succeeded', amount: 2500, creditsReversed: 100, creditsShortfall: 2650 }],
    });
    expect(await balance(user.id)).toBe(0);
    await ledgerTies(user.id);
    const again = await refund(order.id, { reason: 'again' });
    expect(again.statusCode).toBe(409);
    const audit = await call(t.app, 'GET', '/api/admin/audit?limit=5', { token: admin });
    expect(audit.body).toContain('order.refund');
    expect(audit.body).toContain('the rest');
  });

  it('a whole refund of a plan ends it and takes back its credits; a partial one keeps it', async () => {
    const user = await registerUser(t);
    const order = await t.app.services.orders.createOrder({
      userId: user.id,
      item: { kind: 'plan', planId: 'monthly' },
      channel: 'wechat_native',
    });
    await orders().confirmPaid(wechat.pay(order.order.order_no), null);
    const vip = async () =>
      (await call(t.app, 'GET', '/v1/vip/info', { token: user.accessToken })).json<{ data: { isVip: boolean } }>().data
        .isVip;
    expect(await vip()).toBe(true);
    const part = await refund(order.order.id, { amount: 900, reason: 'goodwill' });
    expect(part.json<DetailJson>().refunds[0]).toMatchObject({
      creditsReversed: 0,
      planEffect: expect.stringMatching(/^kept/),
    });
    expect(await vip()).toBe(true);
    const before = await balance(user.id);
    const whole = await refund(order.order.id, { reason: 'changed mind' });
    expect(whole.json<DetailJson>()).toMatchObject({
      status: 'refunded',
      refunds: [{}, { creditsReversed: 3000, creditsShortfall: 0, planEffect: expect.stringMatching(/^ended/) }],
    });
    expect(await vip()).toBe(false);
    expect(await balance(user.id)).toBe(before - 3000);
    await ledgerTies(user.id);
  });

  it('a refund the provider refuses frees its amount; one left unanswered is asked again by the reconcile job, once', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'small' });
    await orders().confirmPaid(wechat.pay(order.orderNo), null);
    wechat.refundMode = 'refused';
    expect((await refund(order.id, { reason: 'x' })).statusCode).toBe(400);
    wechat.refundMode = 'unreachable';
    const pending = await refund(order.id, { reason: 'y' });
    expect(pending.json<DetailJson>()).toMatchObject({
      status: 'fulfilled',
      refunds: [{ status: 'failed' }, { status: 'pending' }],
    });
    wechat.refundMode = 'succeeded';
    t.clock.advance(2 * 60_000);
    const runs = await Promise.all([t.app.services.reconciler.run(), t.app.services.reconciler.run()]);
    expect(runs.reduce((n, r) => n + r.refundsAsked, 0)).toBeGreaterThanOrEqual(1);
    const detail = await orders().detail(order.id);
    expect(detail.order.status).toBe('refunded');
    expect(detail.refunds.map((r) => r.status)).toEqual(['failed', 'succeeded']);
    await ledgerTies(user.id);
  });

  it('admins list and search every order; revenue = received − refunded, per currency and per day', async () => {
    const user = await registerUser(t);
    const order = await recharge(user, { packId: 'small' });
    const paid = wechat.pay(order.orderNo);
    await orders().confirmPaid(paid, null);
    const found = await call(t.app, 'GET', `/api/admin/orders?search=${paid.transactionId}`, { token: admin });
    expect(found.json<{ items: Array<{ id: string; userId: string }> }>().items).toEqual([
      expect.objectContaining({ id: order.id, userId: user.id }),
    ]);
    const mine = await call(t.app, 'GET', `/api/admin/orders?userId=${user.id}&status=fulfilled`, { token: admin });
    expect(mine.json<{ total: number }>().total).toBe(1);
    // By when it was made: from inclusive, to exclusive; a malformed moment is a 400.
    const made = Date.parse(found.json<{ items: Array<{ createdAt: string }> }>().items[0]!.createdAt);
    const within = (from: number, to: number) =>
      call(
        t.app,
        'GET',
        `/api/admin/orders?userId=${user.id}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
        {
          token: admin,
        },
      );
    expect((await within(made, made + 1)).json<{ total: number }>().total).toBe(1);
    expect((await within(made - 60_000, made)).json<{ total: number }>().total).toBe(0);
    expect((await within(made + 1, made + 60_000)).json<{ total: number }>().total).toBe(0);
    expect((await call(t.app, 'GET', '/api/admin/orders?from=yesterday', { token: admin })).statusCode).toBe(400);
    const plain = await call(t.app, 'GET', '/api/admin/orders', { token: user.accessToken });
    expect(plain.statusCode).toBe(403);
    const stats = await call(t.app, 'GET', '/v1/admin/stats', { token: admin });
    const revenue = stats.json<{
      data: {
        revenue: {
          byCurrency: Array<{ currency: string; received: number; refunded: number; net: number }>;
          days: Array<{ net: number; currency: string }>;
        };
      };
    }>().data.revenue;
    const cny = revenue.byCurrency.find((c) => c.currency === 'CNY')!;
    expect(cny.net).toBe(cny.received - cny.refunded);
    expect(revenue.days.filter((d) => d.currency === 'CNY').reduce((n, d) => n + d.net, 0)).toBe(cny.net);
  });

  it('after all of the above, the books of orders tie: one grant per fulfilled order, refunds that add up', async () => {
    expect(await checkOrderBooks(t.app.services.database.db)).toEqual([]);
  });
});
