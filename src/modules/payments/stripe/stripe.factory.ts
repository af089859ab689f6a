import type { Config } from '#core/config.ts';
import type { PaymentProvider } from '../payment-provider.ts';
import type { ProviderDeps } from '../payments.registry.ts';

/** Stripe from the configuration, or null when it is not configured. (Placeholder until Stripe lands.) */
export function createStripe(_config: Config, _deps: ProviderDeps): PaymentProvider | null {
  return null;
}
