import type { Clock } from '#core/clock.ts';
import { AppError } from '#core/errors.ts';
import type { App } from '#core/http/route-config.ts';
import type { PaymentProvider, PaymentSink } from '../payment-provider.ts';
import { StripeProvider } from './stripe.provider.ts';
import { StripeWebhook } from './stripe.webhook.ts';

export const STRIPE_WEBHOOK_PATH = '/api/payments/stripe/webhook';

/**
 * `POST /api/payments/stripe/webhook`: the endpoint to give Stripe (Dashboard → Developers → Webhooks)
 * for the events `checkout.session.completed`, `checkout.session.async_payment_succeeded`,
 * `checkout.session.async_payment_failed`, `checkout.session.expired`, `charge.refunded`,
 * `refund.updated` and `refund.failed`.
 *
 * The body is kept as the bytes that came (its own parser in its own scope: the signature is over
 * them, and any re-serialisation would break it). 200 `{received: true, outcome}` once the event is
 * applied or known; 400 for a bad signature or a stale timestamp (nothing is written); 503 when Stripe
 * is not configured; 5xx when applying failed, so Stripe delivers it again.
 */
export function registerStripeWebhook(
  app: App,
  deps: {
    provider: PaymentProvider | null | undefined;
    signingSecret: string | undefined;
    sink: PaymentSink;
    clock: Clock;
  },
): void {
  const webhook =
    deps.provider instanceof StripeProvider && deps.signingSecret
      ? new StripeWebhook({
          signingSecret: deps.signingSecret,
          provider: deps.provider,
          sink: deps.sink,
          clock: deps.clock,
          log: app.log,
        })
      : null;
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, parsed) => parsed(null, body));
    scope.post(
      STRIPE_WEBHOOK_PATH,
      {
        config: { access: 'public' },
        schema: {
          tags: ['payments'],
          summary: 'Stripe webhook (Stripe calls it; not for clients)',
          description:
            'Verified on the raw body with the Stripe-Signature header (HMAC-SHA256 with STRIPE_WEBHOOK_SECRET, at most 300 s old). 200 {received, outcome} once applied or known; 400 STRIPE_SIGNATURE_INVALID; 503 PAYMENTS_NOT_CONFIGURED when Stripe is off. docs/payments.md.',
        },
      },
      async (request) => {
        if (!webhook) throw new AppError('PAYMENTS_NOT_CONFIGURED');
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const event = webhook.verify(body, request.headers['stripe-signature'] as string | undefined);
        const outcome = await webhook.handle(event);
        request.log.info({ event: event.id, type: event.type, outcome }, 'Stripe event');
        return { received: true, outcome };
      },
    );
    done();
  });
}
