import type { Price } from '#modules/pricing/price.ts';
import { shippedPrice } from '#modules/pricing/pricing.defaults.ts';
import type { PricingService } from '#modules/pricing/pricing.service.ts';

/**
 * A job is priced per image by its mode and resolution, from the price table (admins edit it with the
 * pricing routes): the first of `image-job:<mode>:<resolution>`, `image-job:<mode>`, `image-job` that has
 * a row, else the shipped default of the mode, else of `image-job`. Only `perImage` (and `perRequest`,
 * when an admin sets one) of the row counts. docs/image-jobs.md.
 */
export const JOB_PRICE_PREFIX = 'image-job';

/** Shipped defaults in US dollars per image (at CREDITS_PER_USD 1000: 20, 40 and 80 credits). */
const SHIPPED_PER_IMAGE_USD: Record<string, number> = {
  [JOB_PRICE_PREFIX]: 0.04,
  [`${JOB_PRICE_PREFIX}:fast`]: 0.02,
  [`${JOB_PRICE_PREFIX}:standard`]: 0.04,
  [`${JOB_PRICE_PREFIX}:hd`]: 0.08,
};

export interface JobPrice {
  /** The name the job's usage record carries: always the most specific one. */
  model: string;
  price: Price;
}

export function jobPrice(pricing: PricingService, creditsPerUsd: number, mode: string, resolution: string): JobPrice {
  const model = `${JOB_PRICE_PREFIX}:${mode}:${resolution}`;
  const names = [model, `${JOB_PRICE_PREFIX}:${mode}`, JOB_PRICE_PREFIX];
  for (const name of names) {
    const set = pricing.priceExactly(name);
    if (set) return { model, price: { input: 0, output: 0, perRequest: set.perRequest, perImage: set.perImage } };
  }
  const usd = SHIPPED_PER_IMAGE_USD[names[1]!] ?? SHIPPED_PER_IMAGE_USD[JOB_PRICE_PREFIX]!;
  const shipped = shippedPrice({ perImage: usd, maxOutputTokens: null }, creditsPerUsd);
  return { model, price: { input: 0, output: 0, perRequest: 0, perImage: shipped.perImage } };
}
