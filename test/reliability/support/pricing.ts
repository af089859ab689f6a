/** The price every cluster sets for its model: credits per 1K input, per 1K output, per call. */
export const MODEL = 'gpt-4o-mini';
export const PRICE = { input: 10, output: 20, perRequest: 1 };

/** What a call that used `input` and `output` tokens costs at PRICE (docs/money.md, rule 4: rounded up). */
export function chargeFor(input: number, output: number): number {
  return Math.ceil((PRICE.perRequest * 1000 + input * PRICE.input + output * PRICE.output) / 1000);
}
