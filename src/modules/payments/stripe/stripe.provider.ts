import type Stripe from 'stripe';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type {
  CheckoutResult,
  OrderToPay,
  PayChannel,
  PaymentEvidence,
  PaymentProvider,
  PaymentState,
  RefundEvidence,
  RefundRequest,
} from '../payment-provider.ts';
import { isMissing, isRefusal, stripeFailure } from './stripe.client.ts';

/** The metadata key that marks a Checkout Session, PaymentIntent or Refund as Tollgate's, with its order number. */
export const ORDER_KEY = 'tollgate_order_no';
export const REFUND_KEY = 'tollgate_refund_no';

/** Stripe accepts a session's `expires_at` between 30 minutes and 24 hours after its creation. */
const MIN_SESSION_SECONDS = 30 * 60 + 60;
const MAX_SESSION_SECONDS = 24 * 3600 - 60;

export interface StripeProviderSettings {
  /** ISO 4217, any case; Checkout is asked in lower case, evidence is reported in upper case. */
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

/**
 * Stripe Checkout (one-time payments) behind the payment contract: a hosted Checkout Session per
 * order, asked for with `Idempotency-Key: checkout:<order>` so a repeated request gives the same
 * session; query = retrieve the session; close = expire it; refund = a Refund with
 * `Idempotency-Key: refund:<refundNo>`. The order number travels in `client_reference_id` and in the
 * metadata of the session, its PaymentIntent (hence its Charge) and each Refund, so every webhook
 * event can be traced back to its order.
 */
export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe' as const;
  readonly channels: readonly PayChannel[] = ['stripe_checkout'];
  readonly currency: string;

  constructor(
    private readonly stripe: Stripe,
    private readonly settings: StripeProviderSettings,
    private readonly clock: Clock,
  ) {
    this.currency = settings.currency.toUpperCase();
  }

  async createCheckout(order: OrderToPay, channel: PayChannel): Promise<CheckoutResult> {
    if (channel !== 'stripe_checkout') throw new Error(`Stripe has no channel ${channel}`);
    if (order.currency.toUpperCase() !== this.currency)
      throw new Error(`Stripe charges in ${this.currency}; order ${order.orderNo} is priced in ${order.currency}`);
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const expiresAt = Math.min(
      Math.max(Math.floor(order.expiresAt / 1000), nowSeconds + MIN_SESSION_SECONDS),
      nowSeconds + MAX_SESSION_SECONDS,
    );
    const metadata = { [ORDER_KEY]: order.orderNo };
    let session: Stripe.Checkout.Session;
    try {
      session = await this.stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: [
            {
              quantity: 1,
              price_data: {
                currency: this.currency.toLowerCase(),
                unit_amount: order.amount,
                product_data: { name: order.description },
              },
            },
          ],
          success_url: this.returnUrl(order.successUrl, this.settings.successUrl),
          cancel_url: this.returnUrl(order.cancelUrl, this.settings.cancelUrl),
          client_reference_id: order.orderNo,
          metadata,
          payment_intent_data: { metadata },
          expires_at: expiresAt,
        },
        { idempotencyKey: `checkout:${order.orderNo}` },
      );
    } catch (error) {
      throw stripeFailure(error);
    }
    if (!session.url) throw new AppError('STRIPE_REFUSED', { detail: 'the Checkout Session has no URL' });
    return {
      checkout: { channel: 'stripe_checkout', url: session.url, sessionId: session.id },
      providerRef: session.id,
    };
  }

  /**
   * Where the payer's browser returns: a URL the client asked for only on the configured URL's own
   * origin (the console), so an order cannot send its payer off to another site after paying.
   */
  private returnUrl(asked: string | undefined, configured: string): string {
    if (!asked) return configured;
    try {
      return new URL(asked).origin === new URL(configured).origin ? asked : configured;
    } catch {
      return configured;
    }
  }

  async query(orderNo: string, providerRef: string | null): Promise<PaymentState> {
    if (!providerRef) return { state: 'not_found' };
    let session: Stripe.Checkout.Session;
    try {
      session = await this.stripe.checkout.sessions.retrieve(providerRef, { expand: ['payment_intent'] });
    } catch (error) {
      if (isMissing(error)) return { state: 'not_found' };
      throw stripeFailure(error);
    }
    if (orderOfSession(session) !== orderNo) return { state: 'not_found' };
    if (session.status === 'expired') return { state: 'closed' };
    const intent = typeof session.payment_intent === 'object' ? session.payment_intent : null;
    // Completed unpaid by a delayed method whose payment then failed: the session can never be paid.
    if (
      session.status === 'complete' &&
      session.payment_status === 'unpaid' &&
      intent &&
      FAILED_INTENT.has(intent.status)
    )
      return { state: 'closed' };
    const paidAt = intent ? intent.created * 1000 : this.clock.now();
    const evidence = paymentOfSession(session, 'query', paidAt);
    return evidence ? { state: 'paid', evidence } : { state: 'pending' };
  }

  /**
   * Expires the session so it can no longer be paid. Only an open session can be expired: one already
   * expired or complete (paid meanwhile) is left as it is, and the caller's next query tells which.
   */
  async close(_orderNo: string, providerRef: string | null): Promise<void> {
    if (!providerRef) return; // no session was made: nothing can be paid
    try {
      await this.stripe.checkout.sessions.expire(providerRef);
    } catch (error) {
      if (isMissing(error) || isRefusal(error)) return;
      throw stripeFailure(error);
    }
  }

  async refund(request: RefundRequest): Promise<RefundEvidence> {
    let refund: Stripe.Refund;
    try {
      refund = await this.stripe.refunds.create(
        {
          payment_intent: request.transactionId,
          amount: request.amount,
          reason: 'requested_by_customer',
          metadata: {
            [ORDER_KEY]: request.orderNo,
            [REFUND_KEY]: request.refundNo,
            reason: request.reason.slice(0, 500),
          },
        },
        { idempotencyKey: `refund:${request.refundNo}` },
      );
    } catch (error) {
      throw stripeFailure(error);
    }
    return { ...refundEvidence(refund, 'answer'), orderNo: request.orderNo, refundNo: request.refundNo };
  }

  /** The Tollgate order a PaymentIntent pays (its metadata), or null for one Tollgate did not make. */
  async orderOfPaymentIntent(paymentIntentId: string): Promise<string | null> {
    try {
      const intent = await this.stripe.paymentIntents.retrieve(paymentIntentId);
      return intent.metadata?.[ORDER_KEY] ?? null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw stripeFailure(error);
    }
  }

  /** A charge's refunds (a `charge.refunded` event names the charge, not the refund). */
  async refundsOfCharge(chargeId: string): Promise<Stripe.Refund[]> {
    try {
      const refunds: Stripe.Refund[] = [];
      for await (const refund of this.stripe.refunds.list({ charge: chargeId, limit: 100 })) refunds.push(refund);
      return refunds;
    } catch (error) {
      throw stripeFailure(error);
    }
  }
}

/** The Tollgate order a session was made for, or null for a session Tollgate did not make. */
export function orderOfSession(session: Stripe.Checkout.Session): string | null {
  return session.metadata?.[ORDER_KEY] ?? null;
}

/** What a paid session proves, or null while it is not paid (open, or complete with a delayed method). */
/** A PaymentIntent in one of these will not be paid (a delayed payment failed, or it was cancelled). */
const FAILED_INTENT = new Set<Stripe.PaymentIntent.Status>(['requires_payment_method', 'canceled']);

export function paymentOfSession(
  session: Stripe.Checkout.Session,
  via: PaymentEvidence['via'],
  paidAt: number,
): PaymentEvidence | null {
  const orderNo = orderOfSession(session);
  if (!orderNo || session.status !== 'complete' || session.payment_status !== 'paid') return null;
  const intent = session.payment_intent;
  const transactionId = (typeof intent === 'string' ? intent : intent?.id) ?? session.id;
  return {
    provider: 'stripe',
    orderNo,
    transactionId,
    amount: session.amount_total ?? 0,
    currency: (session.currency ?? '').toUpperCase(),
    paidAt,
    via,
  };
}

/** What a Refund proves; its order and refund numbers come from Tollgate's metadata (empty when absent). */
export function refundEvidence(refund: Stripe.Refund, via: RefundEvidence['via']): RefundEvidence {
  const state =
    refund.status === 'succeeded'
      ? 'succeeded'
      : refund.status === 'failed' || refund.status === 'canceled'
        ? 'failed'
        : 'pending';
  return {
    provider: 'stripe',
    orderNo: refund.metadata?.[ORDER_KEY] ?? '',
    refundNo: refund.metadata?.[REFUND_KEY] ?? '',
    providerRefundId: refund.id,
    amount: refund.amount,
    currency: refund.currency.toUpperCase(),
    state,
    via,
  };
}
