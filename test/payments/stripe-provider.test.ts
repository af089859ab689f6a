import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '#core/errors.ts';
import { loadConfig } from '#core/config.ts';
import type {
  OrderToPay,
  PaymentEvidence,
  PaymentSink,
  ProviderName,
  RefundEvidence,
} from '#modules/payments/payment-provider.ts';
import { createStripeClient } from '#modules/payments/stripe/stripe.client.ts';
import { createStripe } from '#modules/payments/stripe/stripe.factory.ts';
import { StripeProvider } from '#modules/payments/stripe/stripe.provider.ts';
import { StripeWebhook } from '#modules/payments/stripe/stripe.webhook.ts';
import { FakeStripe, type FakeEvent } from '#test/fakes/stripe.ts';
import { ManualClock } from '#test/helpers/clock.ts';
import { TEST_SECRETS } from '#test/helpers/test-app.ts';
import pino from 'pino';

/**
 * The Stripe provider and webhook verification on their own, against the fake Stripe API: what is
 * asked of Stripe, what its answers and events prove. The whole path through orders is in
 * stripe-webhook.test.ts.
 */
describe('Stripe provider', () => {
  let fake: FakeStripe;
  let provider: StripeProvider;
  const clock = new ManualClock();
  beforeAll(async () => {
    fake = await FakeStripe.start();
    provider = new StripeProvider(
      createStripeClient({
        secretKey: fake.secretKey,
        apiBaseUrl: fake.baseUrl,
        timeoutMs: 5000,
        maxNetworkRetries: 1,
      }),
      { currency: 'usd', successUrl: 'https://console.example/paid', cancelUrl: 'https://console.example/cancelled' },
      clock,
    );
  });
  afterAll(() => fake.close());

  let orderCounter = 0;
  const order = (amount = 990): OrderToPay => ({
    orderNo: `ord-${++orderCounter}-${Date.now()}`,
    amount,
    currency: 'USD',
    description: 'Pro plan, 30 days',
    expiresAt: clock.now() + 2 * 3600_000,
  });

  it('asks for a Checkout Session priced by the order, traced to it, expiring with it, and gets the same one when asked twice', async () => {
    const o = order(1234);
    const first = await provider.createCheckout(o, 'stripe_checkout');
    expect(first.checkout).toEqual({
      channel: 'stripe_checkout',
      url: expect.stringContaining(first.providerRef),
      sessionId: first.providerRef,
    });
    const sent = fake.requests.at(-1)!;
    expect(sent.idempotencyKey).toBe(`checkout:${o.orderNo}`);
    expect(sent.params).toMatchObject({
      mode: 'payment',
      client_reference_id: o.orderNo,
      metadata: { tollgate_order_no: o.orderNo },
      payment_intent_data: { metadata: { tollgate_order_no: o.orderNo } },
      success_url: 'https://console.example/paid',
      cancel_url: 'https://console.example/cancelled',
      expires_at: String(Math.floor(o.expiresAt / 1000)),
      line_items: [
        { quantity: '1', price_data: { currency: 'usd', unit_amount: '1234', product_data: { name: o.description } } },
      ],
    });
    const again = await provider.createCheckout(o, 'stripe_checkout');
    expect(again.providerRef).toBe(first.providerRef);
    expect([...fake.sessions.values()].filter((s) => s.client_reference_id === o.orderNo)).toHaveLength(1);
  });

  it('sends the browser back to a URL the client asked for only on the configured origin', async () => {
    await provider.createCheckout(
      { ...order(), successUrl: 'https://console.example/orders/1', cancelUrl: 'https://evil.example/x' },
      'stripe_checkout',
    );
    expect(fake.requests.at(-1)!.params).toMatchObject({
      success_url: 'https://console.example/orders/1',
      cancel_url: 'https://console.example/cancelled',
    });
  });

  it("keeps the session's expiry within Stripe's 30 minutes to 24 hours", async () => {
    const soon = { ...order(), expiresAt: clock.now() + 60_000 };
    await provider.createCheckout(soon, 'stripe_checkout');
    expect(Number(fake.requests.at(-1)!.params.expires_at)).toBe(Math.floor(clock.now() / 1000) + 31 * 60);
  });

  it('refuses an order in another currency before asking Stripe', async () => {
    const before = fake.requests.length;
    await expect(provider.createCheckout({ ...order(), currency: 'CNY' }, 'stripe_checkout')).rejects.toThrow(/USD/);
    expect(fake.requests.length).toBe(before);
    expect(provider.currency).toBe('USD');
  });

  it("turns Stripe's refusal and absence into domain errors", async () => {
    await expect(provider.createCheckout(order(0), 'stripe_checkout')).rejects.toMatchObject({
      code: 'STRIPE_REFUSED',
    });
    fake.unreachable();
    try {
      await expect(provider.createCheckout(order(), 'stripe_checkout')).rejects.toMatchObject({
        code: 'STRIPE_UNAVAILABLE',
      });
    } finally {
      fake.recover();
    }
  });

  it('retries a 500 with the same Idempotency-Key, so one session is made', async () => {
    const o = order();
    fake.failNext(1);
    const result = await provider.createCheckout(o, 'stripe_checkout');
    const tries = fake.requests.filter((r) => r.params.client_reference_id === o.orderNo);
    expect(tries).toHaveLength(2);
    expect(new Set(tries.map((r) => r.idempotencyKey))).toEqual(new Set([`checkout:${o.orderNo}`]));
    expect([...fake.sessions.values()].filter((s) => s.client_reference_id === o.orderNo)).toHaveLength(1);
    expect(result.providerRef).toMatch(/^cs_test_/);
  });

  it('query: pending while open, paid with the PaymentIntent once paid, closed when expired, not_found otherwise', async () => {
    const o = order(500);
    const { providerRef } = await provider.createCheckout(o, 'stripe_checkout');
    expect(await provider.query(o.orderNo, providerRef)).toEqual({ state: 'pending' });
    fake.pay(providerRef);
    const paid = await provider.query(o.orderNo, providerRef);
    expect(paid).toEqual({
      state: 'paid',
      evidence: {
        provider: 'stripe',
        orderNo: o.orderNo,
        transactionId: fake.sessions.get(providerRef)!.payment_intent,
        amount: 500,
        currency: 'USD',
        paidAt: expect.any(Number),
        via: 'query',
      },
    });
    expect(await provider.query('another-order', providerRef)).toEqual({ state: 'not_found' });
    expect(await provider.query(o.orderNo, 'cs_test_unknown')).toEqual({ state: 'not_found' });
    expect(await provider.query(o.orderNo, null)).toEqual({ state: 'not_found' });
    const late = order();
    const expiring = await provider.createCheckout(late, 'stripe_checkout');
    fake.expireByTime(expiring.providerRef);
    expect(await provider.query(late.orderNo, expiring.providerRef)).toEqual({ state: 'closed' });
  });

  it('close: expires an open session (it can no longer be paid); leaves an expired or paid one as it is for the query to tell', async () => {
    const o = order();
    const { providerRef } = await provider.createCheckout(o, 'stripe_checkout');
    await provider.close(o.orderNo, providerRef);
    expect(fake.sessions.get(providerRef)!.status).toBe('expired');
    expect(() => fake.pay(providerRef)).toThrow(/not open/);
    await provider.close(o.orderNo, providerRef);
    await provider.close(o.orderNo, null);
    const paid = order();
    const session = await provider.createCheckout(paid, 'stripe_checkout');
    fake.pay(session.providerRef);
    await provider.close(paid.orderNo, session.providerRef);
    expect(fake.sessions.get(session.providerRef)!.status).toBe('complete');
    expect(await provider.query(paid.orderNo, session.providerRef)).toMatchObject({ state: 'paid' });
    fake.failNext(2);
    await expect(provider.close(o.orderNo, providerRef)).rejects.toMatchObject({ code: 'STRIPE_UNAVAILABLE' });
  });

  it('refunds part and then the rest with one Refund per refund number, never more than was paid', async () => {
    const o = order(1000);
    const { providerRef } = await provider.createCheckout(o, 'stripe_checkout');
    fake.pay(providerRef);
    const transactionId = fake.sessions.get(providerRef)!.payment_intent!;
    const request = { orderNo: o.orderNo, transactionId, total: 1000, currency: 'USD', reason: 'asked' };
    const part = await provider.refund({ ...request, refundNo: 'rf-1', amount: 400 });
    expect(part).toMatchObject({
      provider: 'stripe',
      orderNo: o.orderNo,
      refundNo: 'rf-1',
      amount: 400,
      currency: 'USD',
      state: 'succeeded',
      via: 'answer',
    });
    const same = await provider.refund({ ...request, refundNo: 'rf-1', amount: 400 });
    expect(same.providerRefundId).toBe(part.providerRefundId);
    expect(fake.chargeOf(transactionId)).toMatchObject({ amount_refunded: 400 });
    await expect(provider.refund({ ...request, refundNo: 'rf-2', amount: 700 })).rejects.toMatchObject({
      code: 'STRIPE_REFUSED',
    });
    const rest = await provider.refund({ ...request, refundNo: 'rf-3', amount: 600 });
    expect(rest.amount).toBe(600);
    expect(fake.chargeOf(transactionId)).toMatchObject({ amount_refunded: 1000, refunded: true });
    fake.refundsPending = true;
    try {
      const other = order(300);
      const s = await provider.createCheckout(other, 'stripe_checkout');
      fake.pay(s.providerRef);
      const pending = await provider.refund({
        ...request,
        orderNo: other.orderNo,
        transactionId: fake.sessions.get(s.providerRef)!.payment_intent!,
        refundNo: 'rf-4',
        amount: 300,
      });
      expect(pending.state).toBe('pending');
    } finally {
      fake.refundsPending = false;
    }
  });
});

/** A sink that records what it is told; the real one (OrdersService) is exercised in stripe-webhook.test.ts. */
class RecordingSink implements PaymentSink {
  paid: { evidence: PaymentEvidence; eventId: string | null }[] = [];
  refunds: { evidence: RefundEvidence; eventId: string | null }[] = [];
  closed: { provider: ProviderName; orderNo: string; eventId: string | null }[] = [];
  confirmPaid(evidence: PaymentEvidence, eventId: string | null) {
    this.paid.push({ evidence, eventId });
    return Promise.resolve(
      this.paid.filter((p) => p.evidence.orderNo === evidence.orderNo).length === 1
        ? ('fulfilled' as const)
        : ('already' as const),
    );
  }
  confirmRefund(evidence: RefundEvidence, eventId: string | null) {
    this.refunds.push({ evidence, eventId });
    return Promise.resolve('applied' as const);
  }
  confirmClosed(provider: ProviderName, orderNo: string, eventId: string | null) {
    this.closed.push({ provider, orderNo, eventId });
    return Promise.resolve('closed' as const);
  }
}

describe('Stripe webhook verification and events', () => {
  let fake: FakeStripe;
  let provider: StripeProvider;
  const clock = new ManualClock();
  const sink = new RecordingSink();
  let webhook: StripeWebhook;
  beforeAll(async () => {
    fake = await FakeStripe.start();
    provider = new StripeProvider(
      createStripeClient({
        secretKey: fake.secretKey,
        apiBaseUrl: fake.baseUrl,
        timeoutMs: 5000,
        maxNetworkRetries: 0,
      }),
      { currency: 'usd', successUrl: 'https://console.example/paid', cancelUrl: 'https://console.example/paid' },
      clock,
    );
    webhook = new StripeWebhook({
      signingSecret: fake.webhookSecret,
      provider,
      sink,
      clock,
      log: pino({ level: 'silent' }),
    });
  });
  afterAll(() => fake.close());

  const delivered = (event: FakeEvent, options: Parameters<FakeStripe['signedDelivery']>[1] = {}) => {
    const d = fake.signedDelivery(event, options);
    return webhook.verify(Buffer.from(d.body), d.headers['stripe-signature']);
  };
  const newSession = async (amount = 990) => {
    const orderNo = `wh-${Math.random().toString(36).slice(2)}`;
    const { providerRef } = await provider.createCheckout(
      { orderNo, amount, currency: 'USD', description: 'Credits', expiresAt: clock.now() + 3600_000 },
      'stripe_checkout',
    );
    return { orderNo, sessionId: providerRef };
  };

  it('accepts a delivery signed with the endpoint secret within 300 s by its clock', () => {
    const event = fake.makeEvent('ping', {});
    expect(delivered(event).id).toBe(event.id);
    const t = Math.floor(clock.now() / 1000) - 299;
    expect(delivered(event, { timestamp: t }).id).toBe(event.id);
  });

  it('refuses a forged signature, another secret, a changed body, a stale timestamp, and no header', () => {
    const event = fake.makeEvent('checkout.session.completed', { id: 'cs_test_x' });
    const refused = (reason: RegExp, f: () => unknown) => {
      expect(f).toThrow(AppError);
      try {
        f();
      } catch (error) {
        expect((error as AppError).code).toBe('STRIPE_SIGNATURE_INVALID');
        expect((error as AppError).message).toMatch(reason);
      }
    };
    refused(/no signature matches/, () => delivered(event, { secret: 'whsec_someoneelse' }));
    const good = fake.signedDelivery(event, { timestamp: Math.floor(clock.now() / 1000) });
    expect(webhook.verify(Buffer.from(good.body), good.headers['stripe-signature']).id).toBe(event.id);
    refused(/no signature matches/, () =>
      webhook.verify(Buffer.from(good.body.replace('cs_test_x', 'cs_test_y')), good.headers['stripe-signature']),
    );
    refused(/no signature matches/, () =>
      webhook.verify(Buffer.from(good.body), good.headers['stripe-signature']!.replace(/v1=[0-9a-f]/, 'v1=z')),
    );
    refused(/tolerance/, () => delivered(event, { timestamp: Math.floor(clock.now() / 1000) - 301 }));
    refused(/header/, () => webhook.verify(Buffer.from(good.body), undefined));
    // The same delivery is refused once Tollgate's clock is past the tolerance: a replay later is stale.
    clock.advance(301_000);
    try {
      refused(/tolerance/, () => webhook.verify(Buffer.from(good.body), good.headers['stripe-signature']));
    } finally {
      clock.advance(-301_000);
    }
  });

  it('accepts any v1 while secrets are rolled', () => {
    const event = fake.makeEvent('ping', {});
    const d = fake.signedDelivery(event);
    const header = `${d.headers['stripe-signature']!.replace(/v1=/, 'v1=' + 'a'.repeat(64) + ',v1=')}`;
    expect(webhook.verify(Buffer.from(d.body), header).id).toBe(event.id);
  });

  it('completed and paid → confirmPaid with the PaymentIntent, amount and currency; completed unpaid → nothing', async () => {
    const { orderNo, sessionId } = await newSession(777);
    const event = fake.pay(sessionId);
    expect(await webhook.handle(delivered(event))).toBe('fulfilled');
    expect(sink.paid.at(-1)).toEqual({
      evidence: {
        provider: 'stripe',
        orderNo,
        transactionId: fake.sessions.get(sessionId)!.payment_intent,
        amount: 777,
        currency: 'USD',
        paidAt: event.created * 1000,
        via: 'notification',
      },
      eventId: event.id,
    });
    expect(await webhook.handle(delivered(event))).toBe('already');
    const unpaid = await newSession();
    const count = sink.paid.length;
    const pendingEvent = fake.makeEvent('checkout.session.completed', {
      ...fake.sessions.get(unpaid.sessionId)!,
      status: 'complete',
      payment_status: 'unpaid',
    });
    expect(await webhook.handle(delivered(pendingEvent))).toBe('ignored');
    expect(sink.paid.length).toBe(count);
  });

  it('expired → confirmClosed; a session not made by Tollgate is ignored', async () => {
    const { orderNo, sessionId } = await newSession();
    const event = fake.expireByTime(sessionId);
    expect(await webhook.handle(delivered(event))).toBe('closed');
    expect(sink.closed.at(-1)).toEqual({ provider: 'stripe', orderNo, eventId: event.id });
    const foreign = fake.makeEvent('checkout.session.completed', {
      id: 'cs_test_other',
      object: 'checkout.session',
      status: 'complete',
      payment_status: 'paid',
      metadata: {},
      amount_total: 5,
      currency: 'usd',
    });
    expect(await webhook.handle(delivered(foreign))).toBe('ignored');
  });

  it("charge.refunded → confirmRefund for each of the charge's refunds made by Tollgate; a Dashboard refund under its Stripe id", async () => {
    const { orderNo, sessionId } = await newSession(1000);
    fake.pay(sessionId);
    const transactionId = fake.sessions.get(sessionId)!.payment_intent!;
    await provider.refund({
      orderNo,
      refundNo: 'r-a',
      transactionId,
      total: 1000,
      amount: 250,
      currency: 'USD',
      reason: 'x',
    });
    const refunded = fake.events.at(-1)!;
    expect(refunded.type).toBe('charge.refunded');
    const before = sink.refunds.length;
    expect(await webhook.handle(delivered(refunded))).toBe('refunded');
    expect(sink.refunds.slice(before)).toEqual([
      {
        evidence: expect.objectContaining({
          orderNo,
          refundNo: 'r-a',
          amount: 250,
          currency: 'USD',
          state: 'succeeded',
          via: 'notification',
        }),
        eventId: expect.stringMatching(new RegExp(`^${refunded.id}/re_`)),
      },
    ]);
    // A refund made in the Stripe Dashboard has no Tollgate refund number: handed on under its Stripe id.
    await createStripeClient({ secretKey: fake.secretKey, apiBaseUrl: fake.baseUrl, timeoutMs: 5000 }).refunds.create({
      payment_intent: transactionId,
      amount: 100,
    });
    const count = sink.refunds.length;
    const dashboard = fake.events.at(-1)!;
    await webhook.handle(delivered(dashboard));
    const dashboardRefund = [...fake.refunds.values()].at(-1)!;
    expect(sink.refunds.slice(count).map((r) => [r.evidence.refundNo, r.evidence.orderNo, r.evidence.amount])).toEqual([
      [dashboardRefund.id, orderNo, 100],
      ['r-a', orderNo, 250],
    ]);
  });
});

describe('Stripe configuration', () => {
  const base = { NODE_ENV: 'test', DATA_DIR: '/tmp', ...TEST_SECRETS };
  const full = {
    STRIPE_SECRET_KEY: 'sk_test_abc',
    STRIPE_WEBHOOK_SECRET: 'whsec_abc',
    STRIPE_SUCCESS_URL: 'https://console.example/paid',
  };
  const clock = new ManualClock();

  it('is off when nothing is set, and on with the key, the signing secret and the success URL', () => {
    expect(createStripe(loadConfig(base), { clock })).toBeNull();
    const provider = createStripe(loadConfig({ ...base, ...full, STRIPE_CURRENCY: 'eur' }), { clock });
    expect(provider).toBeInstanceOf(StripeProvider);
    expect(provider?.currency).toBe('EUR');
    expect(provider?.channels).toEqual(['stripe_checkout']);
  });

  it('stops the start naming what is missing when partly configured, and never echoes a secret', () => {
    expect(() => loadConfig({ ...base, STRIPE_SECRET_KEY: 'sk_test_secretvalue' })).toThrow(
      /STRIPE_WEBHOOK_SECRET, STRIPE_SUCCESS_URL/,
    );
    expect(() =>
      loadConfig({ ...base, STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_SUCCESS_URL: 'https://a.example' }),
    ).toThrow(/STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ ...base, ...full, STRIPE_SECRET_KEY: 'pk_test_public' })).toThrow(
      /STRIPE_SECRET_KEY.*got a value of/,
    );
    expect(() => loadConfig({ ...base, ...full, STRIPE_SECRET_KEY: 'pk_test_public' })).not.toThrow(/pk_test_public/);
    expect(() => loadConfig({ ...base, ...full, STRIPE_CURRENCY: 'dollars' })).toThrow(/STRIPE_CURRENCY/);
    expect(() => loadConfig({ ...base, ...full, STRIPE_API_BASE_URL: 'https://proxy.example/stripe' })).toThrow(
      /STRIPE_API_BASE_URL must be a scheme, host and port/,
    );
    expect(loadConfig({ ...base, ...full, STRIPE_API_BASE_URL: 'http://127.0.0.1:12111/v1' }).STRIPE_API_BASE_URL).toBe(
      'http://127.0.0.1:12111/v1',
    );
  });
});
