/** A model's price: credits per 1,000 input and output tokens, per request and per image (decimals allowed). */
export interface Price {
  input: number;
  output: number;
  perRequest: number;
  perImage: number;
}

/**
 * A model's price as the pricing table gives it: the rates, and the most output tokens one answer of
 * the model can have (null: not known). A call that sets no output limit may produce that many, so it
 * is what the call's hold must cover (docs/money.md, 6. No balance below zero).
 */
export interface ModelPrice extends Price {
  maxOutputTokens: number | null;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  images?: number;
}

const MICRO = 1_000_000n;

export function toMicro(credits: number): number {
  return Math.round(credits * 1_000_000);
}

export function fromMicro(micro: number): number {
  return micro / 1_000_000;
}

/**
 * The price of a call (docs/money.md, 4. Price): perRequest + input × price/1000 + output × price/1000
 * (+ images × perImage), times the role's multiplier and the plan's (each in thousandths: 1000 = ×1),
 * rounded UP to whole credits. Exact integer arithmetic.
 */
export function chargeFor(price: Price, usage: Usage, multiplierPermille: number, planPermille = 1000): number {
  const perThousand =
    BigInt(toMicro(price.perRequest)) * 1000n +
    BigInt(usage.inputTokens) * BigInt(toMicro(price.input)) +
    BigInt(usage.outputTokens) * BigInt(toMicro(price.output)) +
    BigInt(usage.images ?? 0) * BigInt(toMicro(price.perImage)) * 1000n;
  if (planPermille === 1000) {
    const divisor = MICRO * 1000n * 1000n;
    return Number((perThousand * BigInt(multiplierPermille) + divisor - 1n) / divisor);
  }
  const scaled = perThousand * BigInt(multiplierPermille) * BigInt(planPermille);
  const divisor = MICRO * 1000n * 1000n * 1000n;
  return Number((scaled + divisor - 1n) / divisor);
}
