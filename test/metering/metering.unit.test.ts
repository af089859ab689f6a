import { describe, expect, it } from 'vitest';
import { affordableOutput } from '#modules/metering/affordable.ts';
import { countPromptTokens, guessPromptTokens, type ChatMessageLike } from '#modules/metering/tokens.ts';
import { reportedUsage, tokenCount } from '#modules/metering/usage.ts';
import { chargeFor } from '#modules/pricing/price.ts';

describe('tokenCount: a count an upstream reported, or none (the call is then estimated, never failed)', () => {
  it.each([
    { case: 'an integer', value: 42, count: 42 },
    { case: 'zero', value: 0, count: 0 },
    { case: 'a decimal string (some Dify versions)', value: '42', count: 42 },
    { case: 'a string with leading zeros', value: '0042', count: 42 },
    { case: 'the most tokens there can be', value: 100_000_000, count: 100_000_000 },
    { case: 'one past the most', value: 100_000_001, count: undefined },
    { case: 'a fraction', value: 5.5, count: undefined },
    { case: 'a negative number', value: -3, count: undefined },
    { case: 'a huge number', value: 1e300, count: undefined },
    { case: 'not a number', value: Number.NaN, count: undefined },
    { case: 'words', value: 'abc', count: undefined },
    { case: 'an exponent string', value: '1e3', count: undefined },
    { case: 'an empty string', value: '', count: undefined },
    { case: 'null', value: null, count: undefined },
    { case: 'an object', value: { tokens: 3 }, count: undefined },
  ])('$case ($value) → $count', ({ value, count }) => {
    expect(tokenCount(value)).toBe(count);
  });
});

describe('reportedUsage: the (input, output) an upstream reported', () => {
  it.each([
    { case: 'both counts', input: 10, output: 7, usage: { inputTokens: 10, outputTokens: 7 } },
    { case: 'both as strings', input: '12', output: '3', usage: { inputTokens: 12, outputTokens: 3 } },
    {
      case: 'input only (output absent is zero)',
      input: 10,
      output: undefined,
      usage: { inputTokens: 10, outputTokens: 0 },
    },
    { case: 'output only (input absent is zero)', input: null, output: 7, usage: { inputTokens: 0, outputTokens: 7 } },
    { case: 'explicit zeros', input: 0, output: 0, usage: { inputTokens: 0, outputTokens: 0 } },
    { case: 'neither', input: undefined, output: null, usage: undefined },
    { case: 'a bad input count spoils both', input: 1.5, output: 2, usage: undefined },
    { case: 'a bad output count spoils both', input: 10, output: -1, usage: undefined },
  ])('$case → $usage', ({ input, output, usage }) => {
    expect(reportedUsage(input, output)).toEqual(usage);
  });
});

const user = (content: unknown): ChatMessageLike => ({ role: 'user', content });
const withImage = user([
  { type: 'text', text: 'hi' },
  { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
]);

describe("guessPromptTokens: the hold's quick upper bound (a token per 3 UTF-8 bytes, 8 bytes a message, 3 a prompt, 85 an image)", () => {
  it.each([
    { case: 'nothing', messages: undefined, prompt: undefined, tokens: 3 },
    { case: 'one short message (3 + 8 bytes)', messages: [user('abc')], prompt: undefined, tokens: 7 },
    { case: 'Chinese counts its UTF-8 bytes (6 + 8)', messages: [user('你好')], prompt: undefined, tokens: 8 },
    { case: 'an image part adds 85', messages: [withImage], prompt: undefined, tokens: 92 },
    {
      case: 'tool calls count as their JSON',
      messages: [{ role: 'assistant', content: '', tool_calls: [{ id: 'a' }] }],
      prompt: undefined,
      tokens: 10,
    },
    { case: 'a legacy completion prompt', messages: undefined, prompt: 'abcdef', tokens: 5 },
  ])('$case → $tokens', ({ messages, prompt, tokens }) => {
    expect(guessPromptTokens(messages, prompt)).toBe(tokens);
  });
});

describe('countPromptTokens: the o200k count used when the upstream reports no usage (3 a prompt, 4 a message)', () => {
  it.each([
    { case: 'one message', messages: [user('Say hello to the nice people')], prompt: undefined, tokens: 13 },
    {
      case: "a message's name is counted",
      messages: [{ ...user('Say hello to the nice people'), name: 'bob' }],
      prompt: undefined,
      tokens: 14,
    },
    { case: 'an image part adds 85', messages: [withImage], prompt: undefined, tokens: 93 },
    { case: 'a legacy completion prompt', messages: undefined, prompt: 'Say hello', tokens: 5 },
  ])('$case → $tokens', ({ messages, prompt, tokens }) => {
    expect(countPromptTokens(messages, prompt)).toBe(tokens);
  });
});

describe('affordableOutput: the longest answers a balance pays for, when the request set no output limit', () => {
  // A 100-token prompt at 1 per call, 10 per 1K input, 20 per 1K output: 2 + output/50 credits, rounded up.
  const price = { input: 10, output: 20, perRequest: 1, perImage: 0 };
  const costWith = (answers: number) => (perAnswer: number) =>
    chargeFor(price, { inputTokens: 100, outputTokens: perAnswer * answers }, 1000);

  it.each([
    { case: 'not even one token fits (3 credits > 2)', answers: 1, most: 1_000, budget: 2, perAnswer: 0 },
    { case: 'exactly the tokens 3 credits pay for (2 + 50/50)', answers: 1, most: 1_000, budget: 3, perAnswer: 50 },
    { case: '10 credits pay for 400 tokens', answers: 1, most: 1_000, budget: 10, perAnswer: 400 },
    { case: "never more than the model's longest answer", answers: 1, most: 1_000, budget: 100, perAnswer: 1_000 },
    { case: 'two answers share the budget', answers: 2, most: 1_000, budget: 3, perAnswer: 25 },
    { case: 'a model with no room for an answer', answers: 1, most: 0, budget: 100, perAnswer: 0 },
  ])('$case → $perAnswer per answer', ({ answers, most, budget, perAnswer }) => {
    const costOf = costWith(answers);
    expect(affordableOutput(costOf, most, budget)).toBe(perAnswer);
    if (perAnswer > 0) expect(costOf(perAnswer)).toBeLessThanOrEqual(budget);
    if (perAnswer > 0 && perAnswer < most) expect(costOf(perAnswer + 1)).toBeGreaterThan(budget);
  });
});
