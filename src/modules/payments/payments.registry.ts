import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { PayChannel, PaymentProvider, ProviderName } from './payment-provider.ts';
import { createStripe } from './stripe/stripe.factory.ts';
import { createWeChatPay } from './wechat-pay/wechat-pay.factory.ts';

/** What a provider factory may use besides the configuration. */
export interface ProviderDeps {
  logger: FastifyBaseLogger;
  clock: Clock;
  kv: KeyValueStore;
}

/**
 * The payment providers this deployment has, built once from the configuration (each factory answers
 * null when its provider is not configured, and throws a ConfigError when it is half configured).
 * No provider at all: every payment route answers 503 PAYMENTS_NOT_CONFIGURED.
 */
export class PaymentsRegistry {
  private readonly byName = new Map<ProviderName, PaymentProvider>();

  constructor(providers: readonly PaymentProvider[]) {
    for (const provider of providers) {
      if (this.byName.has(provider.name)) throw new Error(`payment provider ${provider.name} registered twice`);
      this.byName.set(provider.name, provider);
    }
  }

  static fromConfig(config: Config, deps: ProviderDeps): PaymentsRegistry {
    const built = [createWeChatPay(config, deps), createStripe(config, deps)];
    return new PaymentsRegistry(built.filter((p): p is PaymentProvider => p !== null));
  }

  get enabled(): boolean {
    return this.byName.size > 0;
  }

  /** Every channel a payer may choose, in the providers' order (WeChat first). */
  channels(): PayChannel[] {
    return [...this.byName.values()].flatMap((p) => [...p.channels]);
  }

  /** The provider of `name`; 503 PAYMENTS_NOT_CONFIGURED when this deployment has none of that name. */
  provider(name: ProviderName): PaymentProvider {
    const provider = this.byName.get(name);
    if (!provider) throw new AppError('PAYMENTS_NOT_CONFIGURED');
    return provider;
  }

  has(name: ProviderName): boolean {
    return this.byName.has(name);
  }

  /**
   * The provider serving `channel`. No provider at all: 503 PAYMENTS_NOT_CONFIGURED; a channel this
   * deployment does not offer: 400 PAYMENT_CHANNEL_UNAVAILABLE naming those it does.
   */
  forChannel(channel: PayChannel): PaymentProvider {
    if (!this.enabled) throw new AppError('PAYMENTS_NOT_CONFIGURED');
    for (const provider of this.byName.values()) if (provider.channels.includes(channel)) return provider;
    throw new AppError('PAYMENT_CHANNEL_UNAVAILABLE', { channel, offered: this.channels().join(', ') });
  }
}
