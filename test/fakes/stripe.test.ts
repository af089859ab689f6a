import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStripe, parseForm } from './stripe.ts';

/** The fake speaks Stripe's protocol to the official `stripe` package, pointed at it by host/port/protocol. */
describe('the fake Stripe API', () => {
  let fake: FakeStripe;
  let stripe: Stripe;
  beforeAll(async () => {
    fake = await FakeStripe.start();
    stripe = new Stripe(fake.secretKey, {
      host: '127.0.0.1',
      port: fake.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
  });
  afterAll(() => fake.close());

  const createSession = (orderNo: string, amount = 990, options?: Stripe.RequestOptions) =>
    stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [
          { quantity: 1, price_data: { currency: 'usd', unit_amount: amount, product_data: { name: 'Pro' } } },
        ],
        success_url: 'https://console.example/ok?session_id={CHECKOUT_SESSION_ID}',
        cancel_url: 'https://console.example/cancel',
        client_reference_id: orderNo,
        metadata: { order_no: orderNo },
        payment_intent_data: { metadata: { order_no: orderNo } },
        expires_at: Math.floor(Date.now() / 1000) + 3600,
      },
      options,
    );

  it('reads the form encoding the package sends: nested brackets, indexed arrays, expand[]', () => {
    expect(
      parseForm(
        'line_items[0][price_data][currency]=usd&line_items[0][quantity]=1&metadata[a]=b&expand[0]=x&expand[1]=y&mode=payment',
      ),
    ).toEqual({
      line_items: [{ price_data: { currency: 'usd' }, quantity: '1' }],
      metadata: { a: 'b' },
      expand: ['x', 'y'],
      mode: 'payment',
    });
  });

  it('creates an open session from form-encoded parameters, retrieves it, and completes it when paid', async () => {
    const session = await createSession('o-1');
    expect(session).toMatchObject({
      object: 'checkout.session',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 990,
      currency: 'usd',
      client_reference_id: 'o-1',
      metadata: { order_no: 'o-1' },
      payment_intent: null,
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toContain(session.id);
    const sent = fake.requests.at(-1)!;
    expect(sent.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(sent.params.line_items).toEqual([
      { quantity: '1', price_data: { currency: 'usd', unit_amount: '990', product_data: { name: 'Pro' } } },
    ]);

    const event = fake.pay(session.id);
    expect(event.type).toBe('checkout.session.completed');
    const paid = await stripe.checkout.sessions.retrieve(session.id, { expand: ['payment_intent'] });
    expect(paid).toMatchObject({ status: 'complete', payment_status: 'paid', url: null });
    const intent = paid.payment_intent as Stripe.PaymentIntent;
    expect(intent).toMatchObject({ object: 'payment_intent', amount: 990, metadata: { order_no: 'o-1' } });
    expect(fake.chargeOf(intent.id)).toMatchObject({ amount: 990, metadata: { order_no: 'o-1' } });
  });

  it("answers Stripe's errors, which the package turns into its error classes", async () => {
    await expect(stripe.checkout.sessions.retrieve('cs_test_nope')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
    });
    const wrongKey = new Stripe('sk_test_wrong', {
      host: '127.0.0.1',
      port: fake.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    await expect(wrongKey.checkout.sessions.retrieve('cs_test_x')).rejects.toBeInstanceOf(
      Stripe.errors.StripeAuthenticationError,
    );
    fake.failNext();
    await expect(createSession('o-err')).rejects.toBeInstanceOf(Stripe.errors.StripeAPIError);
    await expect(createSession('o-bad', 0)).rejects.toMatchObject({
      statusCode: 400,
      param: expect.stringContaining('unit_amount'),
    });
  });

  it('replays an idempotent POST with the same parameters, and refuses the key with others', async () => {
    const first = await createSession('o-idem', 990, { idempotencyKey: 'checkout:o-idem' });
    const again = await createSession('o-idem', 990, { idempotencyKey: 'checkout:o-idem' });
    expect(again.id).toBe(first.id);
    await expect(createSession('o-idem', 1990, { idempotencyKey: 'checkout:o-idem' })).rejects.toBeInstanceOf(
      Stripe.errors.StripeIdempotencyError,
    );
  });

  it('expires only an open session (checkout.session.expired); a completed one is refused', async () => {
    const open = await createSession('o-exp');
    const expired = await stripe.checkout.sessions.expire(open.id);
    expect(expired.status).toBe('expired');
    expect(fake.events.at(-1)).toMatchObject({ type: 'checkout.session.expired', data: { object: { id: open.id } } });
    const paid = await createSession('o-paid');
    fake.pay(paid.id);
    await expect(stripe.checkout.sessions.expire(paid.id)).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('status of complete'),
    });
  });

  it('refunds part then the rest, never more than was paid, and lists them; charge.refunded carries amount_refunded', async () => {
    const session = await createSession('o-ref', 1000);
    fake.pay(session.id);
    const intent = fake.sessions.get(session.id)!.payment_intent!;
    const part = await stripe.refunds.create({ payment_intent: intent, amount: 300, metadata: { refund_no: 'r1' } });
    expect(part).toMatchObject({ object: 'refund', amount: 300, status: 'succeeded', metadata: { refund_no: 'r1' } });
    expect(fake.events.at(-1)).toMatchObject({
      type: 'charge.refunded',
      data: { object: { amount_refunded: 300, refunded: false } },
    });
    await expect(stripe.refunds.create({ payment_intent: intent, amount: 800 })).rejects.toMatchObject({
      code: 'amount_too_large',
    });
    await stripe.refunds.create({ payment_intent: intent });
    expect(fake.events.at(-1)).toMatchObject({ data: { object: { amount_refunded: 1000, refunded: true } } });
    await expect(stripe.refunds.create({ payment_intent: intent, amount: 1 })).rejects.toMatchObject({
      code: 'charge_already_refunded',
    });
    const listed = await stripe.refunds.list({ charge: part.charge as string });
    expect(listed.data.map((r) => r.amount)).toEqual([700, 300]);
  });

  it('signs webhook deliveries as Stripe does: the package verifies them, and refuses a changed body, another secret or an old timestamp', () => {
    const event = fake.makeEvent('checkout.session.completed', { id: 'cs_test_1' });
    const good = fake.signedDelivery(event);
    const header = good.headers['stripe-signature']!;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(Stripe.webhooks.constructEvent(Buffer.from(good.body), header, fake.webhookSecret)).toMatchObject({
      id: event.id,
      type: 'checkout.session.completed',
    });
    const reference = Stripe.webhooks.generateTestHeaderString({
      payload: good.body,
      secret: fake.webhookSecret,
      timestamp: Number(/t=(\d+)/.exec(header)![1]),
    });
    expect(reference).toBe(header);
    expect(() =>
      Stripe.webhooks.constructEvent(good.body.replace('cs_test_1', 'cs_test_2'), header, fake.webhookSecret),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const foreign = fake.signedDelivery(event, { secret: 'whsec_other' });
    expect(() =>
      Stripe.webhooks.constructEvent(foreign.body, foreign.headers['stripe-signature']!, fake.webhookSecret),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const stale = fake.signedDelivery(event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(() =>
      Stripe.webhooks.constructEvent(stale.body, stale.headers['stripe-signature']!, fake.webhookSecret),
    ).toThrow(/tolerance/);
  });
});
