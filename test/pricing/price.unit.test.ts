import { describe, expect, it } from 'vitest';
import { chargeFor, fromMicro, toMicro, type Price, type Usage } from '#modules/pricing/price.ts';
import { DEFAULT_MODELS, shippedPrice } from '#modules/pricing/pricing.defaults.ts';

/** Credits per 1K input, per 1K output, per call, per image: a call costs 1 + input/100 + output/50 + 40 per image. */
const PRICE: Price = { input: 10, output: 20, perRequest: 1, perImage: 40 };
const tokens = (inputTokens: number, outputTokens: number, images?: number): Usage => ({
  inputTokens,
  outputTokens,
  ...(images === undefined ? {} : { images }),
});

describe('chargeFor: perRequest + input × price/1000 + output × price/1000 + images × perImage, × multiplier, rounded up', () => {
  it.each([
    { case: 'no tokens: the per-request price alone', price: PRICE, usage: tokens(0, 0), permille: 1000, credits: 1 },
    {
      case: 'a sum that is whole is not rounded (1 + 1 + 1)',
      price: PRICE,
      usage: tokens(100, 50),
      permille: 1000,
      credits: 3,
    },
    {
      case: 'one token past a whole sum rounds up (3.01)',
      price: PRICE,
      usage: tokens(101, 50),
      permille: 1000,
      credits: 4,
    },
    { case: 'a short chat (1.18)', price: PRICE, usage: tokens(6, 6), permille: 1000, credits: 2 },
    { case: 'a long answer (7.15)', price: PRICE, usage: tokens(13, 301), permille: 1000, credits: 8 },
    { case: 'images are priced per image', price: PRICE, usage: tokens(0, 0, 2), permille: 1000, credits: 81 },
    { case: 'a ×1.5 plan (4.5)', price: PRICE, usage: tokens(100, 50), permille: 1500, credits: 5 },
    {
      case: 'a ×0.5 plan still pays a started credit (0.5)',
      price: PRICE,
      usage: tokens(0, 0),
      permille: 500,
      credits: 1,
    },
    { case: 'a ×0 plan pays nothing', price: PRICE, usage: tokens(100_000, 100_000), permille: 0, credits: 0 },
    {
      case: 'a model priced at zero costs nothing',
      price: { input: 0, output: 0, perRequest: 0, perImage: 0 },
      usage: tokens(5_000, 5_000, 3),
      permille: 1000,
      credits: 0,
    },
    {
      case: 'one token at a millionth of a credit is never free',
      price: { input: 0.000001, output: 0, perRequest: 0, perImage: 0 },
      usage: tokens(1, 0),
      permille: 1000,
      credits: 1,
    },
    {
      case: 'decimal prices are exact: 100,000 × 0.07/1000 is 7, not 7.000000000000001 → 8',
      price: { input: 0.07, output: 0, perRequest: 0, perImage: 0 },
      usage: tokens(100_000, 0),
      permille: 1000,
      credits: 7,
    },
    {
      case: 'a month of tokens stays exact (10M in, 10M out)',
      price: PRICE,
      usage: tokens(10_000_000, 10_000_000),
      permille: 1000,
      credits: 300_001,
    },
  ])('$case → $credits', ({ price, usage, permille, credits }) => {
    expect(chargeFor(price, usage, permille)).toBe(credits);
  });
});

describe('prices are stored in millionths of a credit', () => {
  it.each([
    { credits: 0, micro: 0 },
    { credits: 1, micro: 1_000_000 },
    { credits: 0.07, micro: 70_000 },
    { credits: 0.11000000000000001, micro: 110_000 },
    { credits: 1.2345678, micro: 1_234_568 },
  ])('$credits credits ↔ $micro', ({ credits, micro }) => {
    expect(toMicro(credits)).toBe(micro);
    expect(fromMicro(micro)).toBeCloseTo(credits, 6);
  });
});

describe('shipped default prices: US dollars per 1M tokens (or per image) → credits at CREDITS_PER_USD', () => {
  it.each([
    { model: 'gpt-4o-mini', creditsPerUsd: 1000, usage: tokens(1_000_000, 0), credits: 150 },
    { model: 'gpt-4o-mini', creditsPerUsd: 1000, usage: tokens(0, 1_000_000), credits: 600 },
    { model: 'gpt-4o-mini', creditsPerUsd: 1000, usage: tokens(1_000, 1_000), credits: 1 },
    { model: 'gpt-4o', creditsPerUsd: 1000, usage: tokens(1_000_000, 1_000_000), credits: 12_500 },
    { model: 'gpt-5-nano', creditsPerUsd: 1000, usage: tokens(1_000_000, 0), credits: 50 },
    { model: 'o3-mini', creditsPerUsd: 100, usage: tokens(1_000_000, 1_000_000), credits: 550 },
    { model: 'text-embedding-3-small', creditsPerUsd: 1000, usage: tokens(1_000_000, 0), credits: 20 },
    { model: 'text-embedding-3-small', creditsPerUsd: 1000, usage: tokens(1, 0), credits: 1 },
    { model: 'dall-e-3', creditsPerUsd: 1000, usage: tokens(0, 0, 3), credits: 120 },
    { model: 'dall-e-2', creditsPerUsd: 1000, usage: tokens(0, 0, 1), credits: 20 },
  ])(
    '$model at $creditsPerUsd credits/USD: $usage.inputTokens in, $usage.outputTokens out, $usage.images images → $credits',
    ({ model, creditsPerUsd, usage, credits }) => {
      expect(chargeFor(shippedPrice(DEFAULT_MODELS[model]!, creditsPerUsd), usage, 1000)).toBe(credits);
    },
  );

  it.each([
    { model: 'gpt-4o-mini', maxOutputTokens: 16_384 },
    { model: 'gpt-5', maxOutputTokens: 128_000 },
    { model: 'text-embedding-3-large', maxOutputTokens: null },
    { model: 'dall-e-3', maxOutputTokens: null },
  ])(
    "$model's longest answer is $maxOutputTokens tokens, and it has no per-request price",
    ({ model, maxOutputTokens }) => {
      expect(shippedPrice(DEFAULT_MODELS[model]!, 1000)).toMatchObject({ maxOutputTokens, perRequest: 0 });
    },
  );
});
