import type { ModelPrice } from './price.ts';

/** A model's published price: US dollars per 1M input and output tokens, per image; its longest answer. */
export interface ShippedModel {
  input?: number;
  output?: number;
  perImage?: number;
  maxOutputTokens: number | null;
}

/**
 * Shipped defaults for well-known models: prices in US dollars per 1M tokens (input, output) or per
 * image, converted to credits with CREDITS_PER_USD, and the most output tokens one answer can have
 * (null for embeddings and images, which answer with no generated text). Both are as OpenAI publishes
 * them: prices at https://platform.openai.com/docs/pricing, "Max output tokens" on each model's page at
 * https://platform.openai.com/docs/models (gpt-3.5-turbo-instruct's 4,096 is its whole context window,
 * so an answer is shorter by its prompt). An admin's price always wins.
 */
export const DEFAULT_MODELS: Record<string, ShippedModel> = {
  'gpt-5': { input: 1.25, output: 10, maxOutputTokens: 128_000 },
  'gpt-5-mini': { input: 0.25, output: 2, maxOutputTokens: 128_000 },
  'gpt-5-nano': { input: 0.05, output: 0.4, maxOutputTokens: 128_000 },
  'gpt-4.1': { input: 2, output: 8, maxOutputTokens: 32_768 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, maxOutputTokens: 32_768 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, maxOutputTokens: 32_768 },
  'gpt-4o': { input: 2.5, output: 10, maxOutputTokens: 16_384 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, maxOutputTokens: 16_384 },
  o3: { input: 2, output: 8, maxOutputTokens: 100_000 },
  'o3-mini': { input: 1.1, output: 4.4, maxOutputTokens: 100_000 },
  'o4-mini': { input: 1.1, output: 4.4, maxOutputTokens: 100_000 },
  'gpt-4-turbo': { input: 10, output: 30, maxOutputTokens: 4_096 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5, maxOutputTokens: 4_096 },
  'gpt-3.5-turbo-instruct': { input: 1.5, output: 2, maxOutputTokens: 4_096 },
  'text-embedding-3-small': { input: 0.02, maxOutputTokens: null },
  'text-embedding-3-large': { input: 0.13, maxOutputTokens: null },
  'text-embedding-ada-002': { input: 0.1, maxOutputTokens: null },
  'dall-e-3': { perImage: 0.04, maxOutputTokens: null },
  'dall-e-2': { perImage: 0.02, maxOutputTokens: null },
  'gpt-image-1': { input: 5, output: 40, maxOutputTokens: null },
};

/**
 * A shipped default as the price Tollgate charges: US dollars per 1M tokens become credits per 1K
 * tokens (× creditsPerUsd / 1000), dollars per image become credits per image; no per-request price.
 */
export function shippedPrice(shipped: ShippedModel, creditsPerUsd: number): ModelPrice {
  return {
    input: ((shipped.input ?? 0) * creditsPerUsd) / 1000,
    output: ((shipped.output ?? 0) * creditsPerUsd) / 1000,
    perRequest: 0,
    perImage: (shipped.perImage ?? 0) * creditsPerUsd,
    maxOutputTokens: shipped.maxOutputTokens,
  };
}
