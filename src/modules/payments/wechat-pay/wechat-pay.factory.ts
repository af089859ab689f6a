import type { Config } from '#core/config.ts';
import type { PaymentProvider } from '../payment-provider.ts';
import type { ProviderDeps } from '../payments.registry.ts';

/** WeChat Pay v3 from the configuration, or null when it is not configured. (Placeholder until WeChat Pay lands.) */
export function createWeChatPay(_config: Config, _deps: ProviderDeps): PaymentProvider | null {
  return null;
}
