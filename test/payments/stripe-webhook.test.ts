import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '#core/http/route-config.ts';
import { FakeStripe, type FakeEvent } from '#test/fakes/stripe.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
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

/**
 * The whole Stripe path on every backend: a recharge asks the fake Stripe for a Checkout Session, the
 * payer pays there, and the fake's signed webhook deliveries (real HMAC-SHA256) reach
 * /api/payments/stripe/webhook as Stripe sends them. What a user notices: credits arrive once, a
 * refund takes them back once, a forged or stale delivery changes nothing.
 */
const WEBHOOK = '/api/payments/stripe/webhook';
// The default credit packs: "medium" gives 5500 credits for USD 7.50.
const PACK = { id: 'medium', credits: 5500, cents: 750 };

function stripeEnv(fake: FakeStripe): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: fake.secretKey,
    STRIPE_WEBHOOK_SECRET: fake.webhookSecret,
    STRIPE_SUCCESS_URL: 'https://console.example/orders',
    STRIPE_API_BASE_URL: fake.baseUrl,
  };
}

function deliver(
  app: App,
  fake: FakeStripe,
  event: FakeEvent,
  options: Parameters<FakeStripe['signedDelivery']>[1] = {},
) {
  const { body, headers } = fake.signedDelivery(event, options);
  return app.inject({ method: 'POST', url: WEBHOOK, payload: body, headers });
}

async function recharge(app: App, user: RegisteredUser, extra: Record<string, unknown> = {}) {
  const res = await call(app, 'POST', '/v1/points/recharge', {
    token: user.accessToken,
    body: { packId: PACK.id, channel: 'stripe_checkout', ...extra },
  });
  if (res.statusCode !== 200) throw new Error(`recharge failed: ${res.statusCode} ${res.body}`);
  return res.json<{
    data: {
      order: { orderNo: string; amount: number; currency: string };
      checkout: { url: string; sessionId: string };
    };
  }>().data;
}

describe.each(backends())('Stripe end to end on $label', (backend) => {
  let fake: FakeStripe;
  let t: TestApp;
  const balance = async (user: RegisteredUser) => (await t.app.services.credits.account(user.id)).balance;
  const status = async (orderNo: string) => (await t.app.services.orders.find(orderNo))?.status;
  const booksTie = async (user: RegisteredUser) =>
    expect(await t.app.services.credits.ledgerSum(user.id)).toBe(await balance(user));

  beforeAll(async () => {
    fake = await FakeStripe.start();
    t = await createTestApp(backend, { env: { ...stripeEnv(fake), ...ADMIN_ENV } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('a recharge opens a Checkout Session at the server price; paying it grants the credits once, by event and by session', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user, { price: 1 });
    expect(order).toMatchObject({ amount: PACK.cents, currency: 'USD' });
    const session = fake.sessions.get(checkout.sessionId)!;
    expect(checkout.url).toBe(session.url);
    expect(session).toMatchObject({ amount_total: PACK.cents, currency: 'usd', client_reference_id: order.orderNo });
    const before = await balance(user);

    const completed = fake.pay(checkout.sessionId);
    const first = await deliver(t.app, fake, completed);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: true, outcome: 'fulfilled' });
    expect(await balance(user)).toBe(before + PACK.credits);
    expect(await status(order.orderNo)).toBe('fulfilled');
    expect((await t.app.services.orders.find(order.orderNo))?.transaction_id).toBe(session.payment_intent);

    // The same event again (Stripe redelivers), and another event about the same session.
    expect((await deliver(t.app, fake, completed)).json()).toEqual({ received: true, outcome: 'already' });
    const another = fake.makeEvent('checkout.session.async_payment_succeeded', completed.data.object);
    expect((await deliver(t.app, fake, another)).json()).toEqual({ received: true, outcome: 'already' });
    expect(await balance(user)).toBe(before + PACK.credits);
    await booksTie(user);
  });

  it('refuses a forged signature, another secret, a changed body, a stale timestamp and no signature: 400, nothing changes', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    const before = await balance(user);
    const completed = fake.pay(checkout.sessionId);
    const good = fake.signedDelivery(completed, { timestamp: Math.floor(t.clock.now() / 1000) });
    const attempts = [
      deliver(t.app, fake, completed, { secret: 'whsec_notthesecret' }),
      t.app.inject({
        method: 'POST',
        url: WEBHOOK,
        payload: good.body.replace(`"amount_total": ${PACK.cents}`, '"amount_total": 1'),
        headers: good.headers,
      }),
      t.app.inject({
        method: 'POST',
        url: WEBHOOK,
        payload: good.body,
        headers: {
          ...good.headers,
          'stripe-signature': good.headers['stripe-signature']!.replace(/v1=.{8}/, 'v1=00000000'),
        },
      }),
      deliver(t.app, fake, completed, { timestamp: Math.floor(t.clock.now() / 1000) - 301 }),
      t.app.inject({
        method: 'POST',
        url: WEBHOOK,
        payload: good.body,
        headers: { 'content-type': 'application/json' },
      }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ success: false, message: expect.stringMatching(/Stripe 签名校验失败/) });
    }
    // A delivery that was fresh, replayed once Tollgate's clock is 301 s later, is stale too.
    t.clock.advance(301_000);
    try {
      const replay = await t.app.inject({ method: 'POST', url: WEBHOOK, payload: good.body, headers: good.headers });
      expect(replay.statusCode).toBe(400);
      expect(replay.json<{ message: string }>().message).toMatch(/tolerance|时间/);
    } finally {
      t.clock.advance(-301_000);
    }
    expect(await status(order.orderNo)).toBe('pending');
    expect(await balance(user)).toBe(before);
    // The genuine delivery still works.
    expect(
      (await t.app.inject({ method: 'POST', url: WEBHOOK, payload: good.body, headers: good.headers })).json(),
    ).toEqual({
      received: true,
      outcome: 'fulfilled',
    });
    expect(await balance(user)).toBe(before + PACK.credits);
  });

  it("a failure between verifying and fulfilling answers 5xx and writes nothing; Stripe's next delivery fulfils once", async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    const before = await balance(user);
    const completed = fake.pay(checkout.sessionId);
    const lost = vi
      .spyOn(t.app.services.orders, 'confirmPaid')
      .mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    try {
      const first = await deliver(t.app, fake, completed);
      expect(first.statusCode).toBeGreaterThanOrEqual(500); // 503: the database went away; Stripe retries any non-2xx
      expect(first.body).not.toContain('Connection terminated');
    } finally {
      lost.mockRestore();
    }
    expect(await status(order.orderNo)).toBe('pending');
    expect(await balance(user)).toBe(before);
    const again = await Promise.all([deliver(t.app, fake, completed), deliver(t.app, fake, completed)]);
    expect(again.map((r) => r.json<{ outcome: string }>().outcome).sort()).toEqual(['already', 'fulfilled']);
    expect(await balance(user)).toBe(before + PACK.credits);
    await booksTie(user);
  });

  it('an expired session closes its order; a delivery about it later changes nothing', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    const expired = fake.expireByTime(checkout.sessionId);
    expect((await deliver(t.app, fake, expired)).json()).toEqual({ received: true, outcome: 'closed' });
    expect(await status(order.orderNo)).toBe('closed');
    expect((await deliver(t.app, fake, expired)).json()).toEqual({ received: true, outcome: 'already' });
  });

  it('a session that completes unpaid (a delayed method) waits; async_payment_succeeded then fulfils', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    const before = await balance(user);
    const paid = fake.pay(checkout.sessionId);
    const unpaid = fake.makeEvent('checkout.session.completed', { ...paid.data.object, payment_status: 'unpaid' });
    expect((await deliver(t.app, fake, unpaid)).json()).toEqual({ received: true, outcome: 'ignored' });
    expect(await status(order.orderNo)).toBe('pending');
    const succeeded = fake.makeEvent('checkout.session.async_payment_succeeded', paid.data.object);
    expect((await deliver(t.app, fake, succeeded)).json()).toEqual({ received: true, outcome: 'fulfilled' });
    expect(await balance(user)).toBe(before + PACK.credits);
  });

  it('a delayed payment that fails closes its order (by the event, or by the reconcile query when the event never came); nothing is granted', async () => {
    const user = await registerUser(t);
    const before = await balance(user);
    const { order, checkout } = await recharge(t.app, user);
    const completed = fake.completeUnpaid(checkout.sessionId);
    expect((await deliver(t.app, fake, completed)).json()).toEqual({ received: true, outcome: 'ignored' });
    expect(await status(order.orderNo)).toBe('pending');
    const failed = fake.failDelayedPayment(checkout.sessionId);
    expect((await deliver(t.app, fake, failed)).json()).toEqual({ received: true, outcome: 'closed' });
    expect(await status(order.orderNo)).toBe('closed');
    expect((await deliver(t.app, fake, failed)).json()).toEqual({ received: true, outcome: 'already' });

    // Neither event delivered: the reconcile job's query finds the failed payment and closes the order.
    const second = await recharge(t.app, user);
    fake.completeUnpaid(second.checkout.sessionId);
    fake.failDelayedPayment(second.checkout.sessionId);
    const start = t.clock.now();
    try {
      t.clock.advance(61_000);
      await t.app.services.reconciler.run();
      expect(await status(second.order.orderNo)).toBe('closed');
    } finally {
      t.clock.set(start);
    }
    expect(await balance(user)).toBe(before);
  });

  it('an event whose amount or currency disagrees with the order is refused and writes nothing', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    const before = await balance(user);
    const paid = fake.pay(checkout.sessionId);
    for (const change of [{ amount_total: 1 }, { currency: 'eur' }]) {
      const wrong = fake.makeEvent('checkout.session.completed', { ...paid.data.object, ...change });
      const res = await deliver(t.app, fake, wrong);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(await status(order.orderNo)).toBe('pending');
    expect(await balance(user)).toBe(before);
  });

  it('events about sessions Tollgate did not make, or an order this database never had, are acknowledged without effect', async () => {
    const foreign = fake.makeEvent('checkout.session.completed', {
      id: 'cs_test_foreign',
      object: 'checkout.session',
      status: 'complete',
      payment_status: 'paid',
      amount_total: 100,
      currency: 'usd',
      metadata: {},
      payment_intent: 'pi_foreign',
    });
    expect((await deliver(t.app, fake, foreign)).json()).toEqual({ received: true, outcome: 'ignored' });
    const unknown = fake.makeEvent('checkout.session.completed', {
      ...foreign.data.object,
      metadata: { tollgate_order_no: 'no-such-order' },
    });
    expect((await deliver(t.app, fake, unknown)).json()).toEqual({ received: true, outcome: 'ignored' });
    expect((await deliver(t.app, fake, fake.makeEvent('customer.created', { id: 'cus_1' }))).json()).toEqual({
      received: true,
      outcome: 'ignored',
    });
  });

  it('refunds: part by an admin, confirmed by charge.refunded once; the rest from the Stripe Dashboard; the books tie', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    await deliver(t.app, fake, fake.pay(checkout.sessionId));
    const granted = await balance(user);
    const intent = fake.sessions.get(checkout.sessionId)!.payment_intent!;

    await t.app.services.orders.refund(order.orderNo, { amount: 300, reason: 'asked by the user', by: 'test' });
    const afterRefund = await balance(user);
    expect(afterRefund).toBeLessThan(granted);
    expect(fake.chargeOf(intent)).toMatchObject({ amount_refunded: 300 });
    const refunded = fake.events.filter((e) => e.type === 'charge.refunded').at(-1)!;
    expect((await deliver(t.app, fake, refunded)).json()).toEqual({ received: true, outcome: 'already' });
    expect((await deliver(t.app, fake, refunded)).json()).toEqual({ received: true, outcome: 'already' });
    expect(await balance(user)).toBe(afterRefund);

    // The rest refunded in the Dashboard: no Tollgate refund number, recorded against the order all the same.
    const stripe = new Stripe(fake.secretKey, {
      host: '127.0.0.1',
      port: fake.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    await stripe.refunds.create({ payment_intent: intent });
    const dashboard = fake.events.filter((e) => e.type === 'charge.refunded').at(-1)!;
    expect((await deliver(t.app, fake, dashboard)).json()).toEqual({ received: true, outcome: 'refunded' });
    expect((await deliver(t.app, fake, dashboard)).json()).toEqual({ received: true, outcome: 'already' });
    const row = await t.app.services.orders.find(order.orderNo);
    expect(row).toMatchObject({ status: 'refunded', refunded_amount: PACK.cents });
    expect(await balance(user)).toBe(granted - PACK.credits);
    await booksTie(user);
  });

  it('an admin refunds part through the route: Stripe refunds that much under the refund number, charge.refunded applies nothing more', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    await deliver(t.app, fake, fake.pay(checkout.sessionId));
    const granted = await balance(user);
    const admin = await adminToken(t);
    const res = await call(t.app, 'POST', `/api/admin/orders/${order.orderNo}/refund`, {
      token: admin,
      body: { amount: 250, reason: 'goodwill' },
    });
    expect(res.statusCode).toBe(200);
    const intent = fake.sessions.get(checkout.sessionId)!.payment_intent!;
    expect(fake.chargeOf(intent)).toMatchObject({ amount_refunded: 250 });
    const refund = [...fake.refunds.values()].at(-1)!;
    expect(refund.metadata).toMatchObject({ tollgate_order_no: order.orderNo, tollgate_refund_no: expect.any(String) });
    expect(fake.requests.filter((r) => r.path === '/v1/refunds' && r.method === 'POST').at(-1)!.idempotencyKey).toBe(
      `refund:${refund.metadata.tollgate_refund_no}`,
    );
    const afterRefund = await balance(user);
    expect(afterRefund).toBeLessThan(granted);
    const refunded = fake.events.filter((e) => e.type === 'charge.refunded').at(-1)!;
    expect((await deliver(t.app, fake, refunded)).json()).toEqual({ received: true, outcome: 'already' });
    expect(await balance(user)).toBe(afterRefund);
    await booksTie(user);
  });

  it('the reconcile job fulfils a payment whose event never came, once, and closes an expired order by expiring its session', async () => {
    const user = await registerUser(t);
    const paid = await recharge(t.app, user);
    const unpaid = await recharge(t.app, user);
    const before = await balance(user);
    const completed = fake.pay(paid.checkout.sessionId); // never delivered
    const start = t.clock.now();
    try {
      t.clock.advance(61_000);
      await t.app.services.reconciler.run();
      expect(await status(paid.order.orderNo)).toBe('fulfilled');
      expect(await status(unpaid.order.orderNo)).toBe('pending');
      expect(await balance(user)).toBe(before + PACK.credits);
      t.clock.advance(31 * 60_000);
      await t.app.services.reconciler.run();
      expect(await status(unpaid.order.orderNo)).toBe('closed');
      expect(fake.sessions.get(unpaid.checkout.sessionId)!.status).toBe('expired');
      // The event arrives at last: nothing more.
      const late = await deliver(t.app, fake, completed, { timestamp: Math.floor(t.clock.now() / 1000) });
      expect(late.json()).toEqual({ received: true, outcome: 'already' });
      expect(await balance(user)).toBe(before + PACK.credits);
      await booksTie(user);
    } finally {
      t.clock.set(start);
    }
  });

  it('a refund that stays pending at Stripe is applied when refund.updated and charge.refunded say it succeeded, once', async () => {
    const user = await registerUser(t);
    const { order, checkout } = await recharge(t.app, user);
    await deliver(t.app, fake, fake.pay(checkout.sessionId));
    const granted = await balance(user);
    fake.refundsPending = true;
    try {
      await t.app.services.orders.refund(order.orderNo, { reason: 'all of it', by: 'test' });
    } finally {
      fake.refundsPending = false;
    }
    expect(await balance(user)).toBe(granted);
    const refund = [...fake.refunds.values()].at(-1)!;
    const [updated, chargeRefunded] = fake.settleRefund(refund.id);
    const outcomes = await Promise.all([deliver(t.app, fake, updated!), deliver(t.app, fake, chargeRefunded!)]);
    expect(outcomes.map((r) => r.json<{ outcome: string }>().outcome).sort()).toEqual(['already', 'refunded']);
    expect(await balance(user)).toBe(granted - PACK.credits);
    expect(await status(order.orderNo)).toBe('refunded');
    await booksTie(user);
  });
});

describe('Stripe webhook with Stripe off', () => {
  it('answers 503 PAYMENTS_NOT_CONFIGURED, and recharging with Stripe is refused the same way; the route is in the OpenAPI document', async () => {
    const t = await createTestApp();
    const fake = await FakeStripe.start();
    try {
      const event = fake.makeEvent('checkout.session.completed', { id: 'cs_test_1' });
      const res = await deliver(t.app, fake, event);
      expect(res.statusCode).toBe(503);
      const user = await registerUser(t);
      const order = await call(t.app, 'POST', '/v1/points/recharge', {
        token: user.accessToken,
        body: { packId: PACK.id, channel: 'stripe_checkout' },
      });
      expect(order.statusCode).toBe(503);
      const docs = (await t.app.inject({ method: 'GET', url: '/api/docs/json' })).json<{
        paths: Record<string, object>;
      }>();
      expect(Object.keys(docs.paths)).toContain(WEBHOOK);
    } finally {
      await t.close();
      await fake.close();
    }
  });
});

describe.each(backends())('Stripe: 20 copies of one event on three instances ($label)', (backend) => {
  let fake: FakeStripe;
  let shared: SharedBackend;
  let apps: App[];

  beforeAll(async () => {
    fake = await FakeStripe.start();
    shared = await createSharedBackend(backend);
    const env = stripeEnv(fake);
    apps = [await shared.start(env), await shared.start(env), await shared.start(env)];
  });
  afterAll(async () => {
    await shared?.close();
    await fake?.close();
  });

  it('fulfils once: one "fulfilled", nineteen "already", one grant', async () => {
    const first = apps[0]!;
    const lastCode = (email: string) =>
      readFileSync(join(shared.dataDir, 'outbox.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line.includes(email))
        .at(-1)!
        .match(/\b(\d{6})\b/)![1]!;
    const user = await registerUser({ app: first, lastCode } as unknown as TestApp);
    const { order, checkout } = await recharge(first, user);
    const credits = first.services.credits;
    const before = (await credits.account(user.id)).balance;
    const completed = fake.pay(checkout.sessionId);
    const copies = await Promise.all(Array.from({ length: 20 }, (_, i) => deliver(apps[i % 3]!, fake, completed)));
    expect(copies.map((r) => r.statusCode)).toEqual(Array.from({ length: 20 }, () => 200));
    const outcomes = copies.map((r) => r.json<{ outcome: string }>().outcome);
    expect(outcomes.filter((o) => o === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'already')).toHaveLength(19);
    expect((await credits.account(user.id)).balance).toBe(before + PACK.credits);
    expect(await credits.ledgerSum(user.id)).toBe(before + PACK.credits);
    expect((await apps[2]!.services.orders.find(order.orderNo))?.status).toBe('fulfilled');
  });
});
