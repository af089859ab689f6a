/**
 * The fake's deterministic answers and usage. Tokens are those of test/fakes/openai/tokens.ts (a run
 * of non-whitespace with the whitespace before it). Prices: prompt 0.001 USD and completion 0.002
 * USD per 1000 tokens (`unit_price` per `price_unit` 0.001), printed as 7-decimal strings as Dify
 * does; latency (seconds, a float) is modelled as 0.2 + 0.01 per completion token so that equal
 * requests give equal usage objects.
 */
import { countTokens, generatedWords, splitTokens } from '#test/fakes/openai/tokens.ts';
import type { DifyBehavior } from './behavior.ts';

/** How many tokens of the source the default answer echoes. */
export const ECHO_TOKENS = 64;
/** The input that carries a behaviour spec: not part of the "prompt". */
export const BEHAVIOR_INPUT = 'fake_behavior';

export interface DifyUsage {
  prompt_tokens: number;
  prompt_unit_price: string;
  prompt_price_unit: string;
  prompt_price: string;
  completion_tokens: number;
  completion_unit_price: string;
  completion_price_unit: string;
  completion_price: string;
  total_tokens: number;
  total_price: string;
  currency: string;
  latency: number;
  time_to_first_token: number | null;
  time_to_generate: number | null;
}

/** Tenths of a micro-dollar per token: 0.001 USD / 1000 tokens is 10 of them, 0.002 USD is 20. */
const PROMPT_PRICE = 10;
const COMPLETION_PRICE = 20;

/** `units` × 1e-7 as an exact decimal string with 7 places ("0.0010330"). */
export function decimal7(units: number): string {
  return `${Math.floor(units / 1e7)}.${String(units % 1e7).padStart(7, '0')}`;
}

export function usageOf(promptTokens: number, completionTokens: number): DifyUsage {
  const prompt = promptTokens * PROMPT_PRICE;
  const completion = completionTokens * COMPLETION_PRICE;
  return {
    prompt_tokens: promptTokens,
    prompt_unit_price: '0.001',
    prompt_price_unit: '0.001',
    prompt_price: decimal7(prompt),
    completion_tokens: completionTokens,
    completion_unit_price: '0.002',
    completion_price_unit: '0.001',
    completion_price: decimal7(completion),
    total_tokens: promptTokens + completionTokens,
    total_price: decimal7(prompt + completion),
    currency: 'USD',
    latency: Math.round((0.2 + completionTokens * 0.01) * 1000) / 1000,
    time_to_first_token: null,
    time_to_generate: null,
  };
}

/** What an annotation reply reports: no model was called. */
export function zeroUsage(): DifyUsage {
  return {
    prompt_tokens: 0,
    prompt_unit_price: '0',
    prompt_price_unit: '0',
    prompt_price: '0',
    completion_tokens: 0,
    completion_unit_price: '0',
    completion_price_unit: '0',
    completion_price: '0',
    total_tokens: 0,
    total_price: '0',
    currency: 'USD',
    latency: 0,
    time_to_first_token: null,
    time_to_generate: null,
  };
}

export type Inputs = Record<string, unknown>;

/** The inputs without the behaviour field, which is test control, not content. */
export function contentInputs(inputs: Inputs): Inputs {
  if (!(BEHAVIOR_INPUT in inputs)) return inputs;
  return Object.fromEntries(Object.entries(inputs).filter(([name]) => name !== BEHAVIOR_INPUT));
}

/** tokens(query) + tokens of every string input value. */
export function promptTokensOf(query: string, inputs: Inputs): number {
  let tokens = countTokens(query);
  for (const value of Object.values(contentInputs(inputs))) if (typeof value === 'string') tokens += countTokens(value);
  return tokens;
}

/** The answer: `text=`, else `words=`, else "Echo: " and the first 64 tokens of `source`. */
export function answerText(behavior: DifyBehavior, source: string): string {
  if (behavior.text !== undefined) return behavior.text;
  if (behavior.words !== undefined) return generatedWords(behavior.words);
  const echoed = splitTokens(source).slice(0, ECHO_TOKENS).join('').trim();
  return echoed ? `Echo: ${echoed}` : 'Hello! How can I help you today?';
}

/** What a completion app echoes: the query, else inputs.query, else the inputs as JSON. */
export function completionSource(query: string, inputs: Inputs): string {
  if (query !== '') return query;
  const fromInputs = inputs.query;
  if (typeof fromInputs === 'string' && fromInputs !== '') return fromInputs;
  return JSON.stringify(contentInputs(inputs));
}

export { countTokens, splitTokens };
