import type { FakeEvent } from '#test/fakes/stripe.ts';
import { pick, checkAnswer, type Operation } from './operation.ts';

const WEBHOOK = '/api/payments/stripe/webhook';

/**
 * A credit pack bought through Stripe, as a payer does: the order made on one instance, paid at the
 * fake Stripe, and the signed `checkout.session.completed` delivered to one to three instances at once
 * (Stripe retries, and a load balancer spreads the copies). Every fourth purchase an admin refunds
 * part of, and Stripe's `charge.refunded` follows. The order must end fulfilled, granted once, and
 * the books (checkBooks) must tie with the refunds and the paid calls running beside them.
 */
export const stripePurchase: Operation = {
  name: 'stripe purchase',
  weight: 1,
  async run(ctx, instance) {
    const stripe = ctx.cluster.stripe;
    if (!stripe) return;
    const { http } = ctx.cluster;
    const user = pick(ctx.users);
    const ordered = await http.send(ctx.cluster.url(instance), 'POST', '/v1/points/recharge', {
      token: user.accessToken,
      body: { packId: pick(['small', 'medium']), channel: 'stripe_checkout' },
    });
    if (!checkAnswer(ctx, this.name, ordered, [200])) return;
    const { order, checkout } = (JSON.parse(ordered.text) as { data: StripeOrder }).data;
    const paid = stripe.signedDelivery(stripe.pay(checkout.sessionId));
    const anyInstance = () => ctx.cluster.url(Math.floor(Math.random() * ctx.cluster.instances.length));
    const copies = await Promise.all(
      Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () =>
        http.send(anyInstance(), 'POST', WEBHOOK, { body: paid.body, headers: paid.headers }),
      ),
    );
    const delivered = copies.map((answer) => checkAnswer(ctx, 'stripe webhook', answer, [200]));
    if (delivered.some(Boolean))
      ctx.log.paidOrders.set(order.orderNo, { userId: user.id, amount: order.amount, currency: order.currency });
    if (!delivered.some(Boolean) || Math.random() >= 0.25) return;

    const refunded = await http.send(anyInstance(), 'POST', `/api/admin/orders/${order.orderNo}/refund`, {
      token: ctx.cluster.adminToken,
      body: { amount: Math.ceil(order.amount / 2), reason: 'reliability load' },
    });
    if (!checkAnswer(ctx, 'admin refund', refunded, [200])) return;
    const event = stripe.events
      .filter((e) => e.type === 'charge.refunded' && metadataOf(e).tollgate_order_no === order.orderNo)
      .at(-1);
    if (!event) return;
    const delivery = stripe.signedDelivery(event);
    checkAnswer(ctx, 'stripe webhook', await http.send(anyInstance(), 'POST', WEBHOOK, delivery), [200]);
  },
};

function metadataOf(event: FakeEvent): Record<string, string> {
  const object = event.data.object as { metadata?: Record<string, string> };
  return object.metadata ?? {};
}

interface StripeOrder {
  order: { orderNo: string; amount: number; currency: string };
  checkout: { sessionId: string };
}
