import type { Usage } from '#modules/pricing/price.ts';

/** More tokens than any model reads or writes in one call: a number past it is a fault, not a count. */
const MOST_TOKENS = 100_000_000;

/**
 * A token count as an upstream reported it, if it is one: a non-negative integer within reason (some
 * Dify versions send it as a decimal string). Anything else (5.5, "abc", -3, 1e300) is no count: the
 * call is then counted with the tokenizer and its record marked `estimated`, never failed.
 */
export function tokenCount(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MOST_TOKENS ? n : undefined;
}

/**
 * The usage of a call from the two counts an upstream reported (input, output): undefined when it
 * reported neither, or either is not a real count (absent is zero).
 */
export function reportedUsage(input: unknown, output: unknown): Usage | undefined {
  if (input == null && output == null) return undefined;
  const inputTokens = input == null ? 0 : tokenCount(input);
  const outputTokens = output == null ? 0 : tokenCount(output);
  return inputTokens === undefined || outputTokens === undefined ? undefined : { inputTokens, outputTokens };
}
