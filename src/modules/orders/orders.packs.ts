import { ConfigError } from '#core/config.ts';

/** A credit pack on sale: its credits, its CNY price in fen, and optionally a price in another currency. */
export interface CreditPack {
  code: string;
  credits: number;
  /** CNY fen. */
  price: number;
  otherPrice: { currency: string; amount: number } | null;
}

/**
 * `CREDIT_PACKS`: `code:credits:fen[:CUR:amount]`, comma-separated (the schema checked the shape).
 * A code given twice or a pack of 0 credits or 0 price stops the start.
 */
export function parseCreditPacks(text: string): CreditPack[] {
  if (text.trim() === '') return [];
  const packs: CreditPack[] = [];
  for (const part of text.split(',')) {
    const [code, credits, price, currency, amount] = part.split(':');
    const pack: CreditPack = {
      code: code!,
      credits: Number(credits),
      price: Number(price),
      otherPrice: currency && amount ? { currency, amount: Number(amount) } : null,
    };
    if (packs.some((p) => p.code === pack.code))
      throw new ConfigError(`Invalid configuration: CREDIT_PACKS names the pack ${pack.code} twice`);
    if (pack.credits <= 0 || pack.price <= 0 || (pack.otherPrice && pack.otherPrice.amount <= 0))
      throw new ConfigError(`Invalid configuration: CREDIT_PACKS: the pack ${pack.code} must have credits and a price`);
    packs.push(pack);
  }
  return packs;
}

/** The price of a pack or plan in `currency` (CNY: its fen price), or null when it has none in it. */
export function priceIn(
  currency: string,
  cny: number,
  other: { currency: string; amount: number } | null,
): number | null {
  if (currency === 'CNY') return cny;
  return other && other.currency === currency ? other.amount : null;
}
