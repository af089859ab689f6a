import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import type { PaymentProvider } from '../payment-provider.ts';
import { createStripeClient } from './stripe.client.ts';
import { StripeProvider } from './stripe.provider.ts';

/**
 * Stripe from the configuration, or null when it is off (no STRIPE_* setting; a partial one has already
 * stopped the start in core/config.ts).
 */
export function createStripe(config: Config, deps: { clock: Clock }): PaymentProvider | null {
  if (!config.STRIPE_SECRET_KEY || !config.STRIPE_WEBHOOK_SECRET || !config.STRIPE_SUCCESS_URL) return null;
  const client = createStripeClient({
    secretKey: config.STRIPE_SECRET_KEY,
    apiBaseUrl: config.STRIPE_API_BASE_URL,
    timeoutMs: config.STRIPE_TIMEOUT * 1000,
  });
  return new StripeProvider(
    client,
    {
      currency: config.STRIPE_CURRENCY,
      successUrl: config.STRIPE_SUCCESS_URL,
      cancelUrl: config.STRIPE_CANCEL_URL ?? config.STRIPE_SUCCESS_URL,
    },
    deps.clock,
  );
}
