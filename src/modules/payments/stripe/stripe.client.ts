import Stripe from 'stripe';
import { AppError } from '#core/errors.ts';

export interface StripeClientSettings {
  secretKey: string;
  /** `https://api.stripe.com` or a stand-in's scheme, host and port; the package adds `/v1` itself. */
  apiBaseUrl: string;
  timeoutMs: number;
  /**
   * Retries of a failed call (connection error, 409, 5xx), each with the same Idempotency-Key, so a
   * retried POST is never done twice by Stripe.
   */
  maxNetworkRetries?: number;
}

/** The official package pointed at `apiBaseUrl` (its host/port/protocol options; the base path is fixed). */
export function createStripeClient(settings: StripeClientSettings): Stripe {
  const url = new URL(settings.apiBaseUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(settings.secretKey, {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    timeout: settings.timeoutMs,
    maxNetworkRetries: settings.maxNetworkRetries ?? 2,
    telemetry: false,
    appInfo: { name: 'Tollgate' },
  });
}

/** Stripe said no to this request (a 4xx other than a missing object): a retry with the same values will not help. */
export function isRefusal(error: unknown): error is Stripe.errors.StripeError {
  return (
    error instanceof Stripe.errors.StripeError &&
    (error instanceof Stripe.errors.StripeInvalidRequestError ||
      error instanceof Stripe.errors.StripeCardError ||
      error instanceof Stripe.errors.StripeIdempotencyError)
  );
}

export function isMissing(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing';
}

/**
 * A failure of a call to Stripe as a domain error: Stripe's refusal of the request (its message names
 * the parameter; never a secret) or Stripe out of reach (connection, timeout, 5xx, rate limit,
 * authentication: a wrong key is the operator's to fix, not the payer's, and is logged by the caller).
 */
export function stripeFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isRefusal(error)) return new AppError('STRIPE_REFUSED', { detail: error.message });
  return new AppError('STRIPE_UNAVAILABLE');
}
