import type { FastifyBaseLogger } from 'fastify';
import Stripe from 'stripe';
import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { PaymentSink } from '../payment-provider.ts';
import { ORDER_KEY, orderOfSession, paymentOfSession, refundEvidence, type StripeProvider } from './stripe.provider.ts';

/** Stripe's own default, and the issue's: an event signed more than 5 minutes ago is refused (replays). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** What became of an event: a change, a replay of one, or nothing to do (not Tollgate's, or not yet paid). */
export type WebhookOutcome = 'fulfilled' | 'closed' | 'refunded' | 'already' | 'ignored';

/**
 * Stripe's webhook: verifies a delivery on its raw bytes (`Stripe-Signature`: HMAC-SHA256 of
 * `t.body` with the endpoint's signing secret, any `v1` may match, `t` at most 300 s old by Tollgate's
 * clock), then hands what the event proves to the orders module, which changes an order once:
 *
 * - `checkout.session.completed` with `payment_status: paid`, and
 *   `checkout.session.async_payment_succeeded` → `confirmPaid` (a delayed method completes unpaid first:
 *   nothing is done until it succeeds);
 * - `checkout.session.expired`, and `checkout.session.async_payment_failed` (the delayed payment of a
 *   session completed unpaid failed: the session cannot be paid any more) → `confirmClosed`;
 * - `charge.refunded` (names the charge, not the refund: its refunds are listed from Stripe),
 *   `refund.updated` and `refund.failed` → `confirmRefund` for each refund of a Tollgate order (those
 *   made in the Stripe Dashboard too, under their Stripe id).
 *
 * Idempotent by event (its id goes with each call) and by session (an order is fulfilled once whatever
 * the number of events that say so). Objects without Tollgate's order number in their metadata belong to
 * another integration on the same account and are acknowledged without effect.
 */
export class StripeWebhook {
  constructor(
    private readonly deps: {
      signingSecret: string;
      provider: StripeProvider;
      sink: PaymentSink;
      clock: Clock;
      log: FastifyBaseLogger;
    },
  ) {}

  /** The event in `body` if `signature` proves Stripe sent it within the tolerance; AppError STRIPE_SIGNATURE_INVALID otherwise. */
  verify(body: Buffer, signature: string | undefined): Stripe.Event {
    if (!signature) throw new AppError('STRIPE_SIGNATURE_INVALID', { reason: 'no Stripe-Signature header' });
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(
        body,
        signature,
        this.deps.signingSecret,
        WEBHOOK_TOLERANCE_SECONDS,
        undefined,
        this.deps.clock.now(),
      );
    } catch (error) {
      const reason =
        error instanceof Stripe.errors.StripeSignatureVerificationError && /tolerance/i.test(error.message)
          ? 'timestamp outside the tolerance'
          : error instanceof SyntaxError
            ? 'the body is not JSON'
            : 'no signature matches';
      throw new AppError('STRIPE_SIGNATURE_INVALID', { reason });
    }
    if (typeof event !== 'object' || typeof event.id !== 'string' || typeof event.type !== 'string')
      throw new AppError('STRIPE_EVENT_INVALID', { detail: 'not an event' });
    return event;
  }

  async handle(event: Stripe.Event): Promise<WebhookOutcome> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.paid(event, event.data.object);
      case 'checkout.session.expired':
      case 'checkout.session.async_payment_failed': {
        const orderNo = orderOfSession(event.data.object);
        if (!orderNo) return 'ignored';
        return this.toSink(orderNo, () => this.deps.sink.confirmClosed('stripe', orderNo, event.id));
      }
      case 'charge.refunded':
        return this.refunds(
          event.id,
          await this.deps.provider.refundsOfCharge(event.data.object.id),
          event.data.object,
        );
      case 'refund.updated':
      case 'refund.failed':
        return this.refunds(event.id, [event.data.object]);
      default:
        return 'ignored';
    }
  }

  private async paid(event: Stripe.Event, session: Stripe.Checkout.Session): Promise<WebhookOutcome> {
    const evidence = paymentOfSession(session, 'notification', event.created * 1000);
    if (!evidence) {
      if (orderOfSession(session))
        this.deps.log.info(
          { event: event.id, session: session.id, paymentStatus: session.payment_status },
          'Stripe Checkout completed without payment yet; waiting for async_payment_succeeded',
        );
      return 'ignored';
    }
    return this.toSink(evidence.orderNo, async () =>
      (await this.deps.sink.confirmPaid(evidence, event.id)) === 'fulfilled' ? 'fulfilled' : 'already',
    );
  }

  /**
   * Each refund Tollgate asked for is confirmed by its refund number. A refund made in the Stripe
   * Dashboard has none: it is handed on under its Stripe id, with the order found through the charge's
   * or PaymentIntent's metadata, so the orders module records it and the books follow the money.
   */
  private async refunds(eventId: string, refunds: Stripe.Refund[], charge?: Stripe.Charge): Promise<WebhookOutcome> {
    let outcome: WebhookOutcome = 'ignored';
    for (const refund of refunds) {
      const evidence = refundEvidence(refund, 'notification');
      if (evidence.state === 'pending') continue;
      if (!evidence.orderNo) evidence.orderNo = (await this.orderOfCharge(refund, charge)) ?? '';
      if (!evidence.orderNo) continue; // not a payment of Tollgate's
      if (!evidence.refundNo) {
        evidence.refundNo = refund.id;
        this.deps.log.warn(
          { event: eventId, refund: refund.id, orderNo: evidence.orderNo, amount: refund.amount },
          'Stripe refund made outside Tollgate (the Dashboard?); recorded against its order',
        );
      }
      const result = await this.toSink(evidence.orderNo, async () =>
        (await this.deps.sink.confirmRefund(evidence, `${eventId}/${refund.id}`)) === 'applied'
          ? 'refunded'
          : 'already',
      );
      if (result === 'refunded' || outcome === 'ignored') outcome = result;
    }
    return outcome;
  }

  private async orderOfCharge(refund: Stripe.Refund, charge: Stripe.Charge | undefined): Promise<string | null> {
    const fromCharge = charge?.metadata?.[ORDER_KEY];
    if (fromCharge) return fromCharge;
    const intent = typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
    return intent ? this.deps.provider.orderOfPaymentIntent(intent) : null;
  }

  /**
   * Calls the orders module. An order this database never made (another Tollgate on the same Stripe
   * account) is acknowledged: answering an error would have Stripe retry it for days, then disable the
   * endpoint. Any other failure is the caller's, so Stripe retries.
   */
  private async toSink(orderNo: string, change: () => Promise<WebhookOutcome>): Promise<WebhookOutcome> {
    try {
      return await change();
    } catch (error) {
      if (error instanceof AppError && error.code === 'ORDER_NOT_FOUND') {
        this.deps.log.warn({ orderNo }, 'Stripe event for an order this Tollgate never made; acknowledged');
        return 'ignored';
      }
      throw error;
    }
  }
}
