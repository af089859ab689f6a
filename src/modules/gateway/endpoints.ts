import { AppError } from '#core/errors.ts';
import type { JsonEndpoint } from './json-call.ts';
import { countTextTokens, guessPromptTokens } from '#modules/metering/tokens.ts';

type EmbeddingsBody = { model?: unknown; input?: unknown };
type ImagesBody = { model?: unknown; prompt?: unknown; n?: unknown; quality?: unknown };

/**
 * Output tokens of one gpt-image picture at each quality, for the largest size (OpenAI's table);
 * `auto` or none may be any of them. The hold must cover them: a picture cannot be cut short.
 */
const IMAGE_OUTPUT_TOKENS: Record<string, number> = { low: 408, medium: 1584, high: 6240 };
const MOST_IMAGE_OUTPUT_TOKENS = 6240;

function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (Array.isArray(input)) return input.map((item) => (typeof item === 'string' ? item : Array.isArray(item) ? item.join(' ') : String(item))).join('\n');
  return '';
}

/** POST /v1/embeddings: billed by input tokens. */
export const embeddings: JsonEndpoint<EmbeddingsBody> = {
  name: 'embeddings',
  path: '/embeddings',
  validate(body) {
    const ok = typeof body.input === 'string' || (Array.isArray(body.input) && body.input.length > 0);
    if (!ok) throw new AppError('VALIDATION_FAILED', { detail: 'input must be a string or a non-empty array' });
  },
  worstCase: (body) => ({ inputTokens: guessPromptTokens(undefined, inputText(body.input)), outputTokens: 0 }),
  usageOf(answer, body) {
    const usage = (answer as { usage?: { prompt_tokens?: number } } | undefined)?.usage;
    if (usage?.prompt_tokens !== undefined) return { usage: { inputTokens: usage.prompt_tokens, outputTokens: 0 }, source: 'upstream' };
    return { usage: embeddings.inputUsage(body), source: 'estimated' };
  },
  inputUsage: (body) => ({ inputTokens: countTextTokens(inputText(body.input)), outputTokens: 0 }),
};

/** POST /v1/images/generations: billed per image, plus tokens when the model reports them (gpt-image-1). */
export function images(maxOutputTokensPerImage: number): JsonEndpoint<ImagesBody> {
  const count = (body: ImagesBody) => (typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 0 ? body.n : 1);
  return {
    name: 'images.generations',
    path: '/images/generations',
    validate(body) {
      if (typeof body.prompt !== 'string' || body.prompt.length === 0) throw new AppError('VALIDATION_FAILED', { detail: 'prompt is required' });
      if (body.n !== undefined && (typeof body.n !== 'number' || !Number.isInteger(body.n) || body.n < 1 || body.n > 10)) {
        throw new AppError('VALIDATION_FAILED', { detail: 'n must be an integer from 1 to 10' });
      }
    },
    worstCase: (body) => ({
      inputTokens: guessPromptTokens(undefined, body.prompt),
      outputTokens: Math.max(maxOutputTokensPerImage, IMAGE_OUTPUT_TOKENS[String(body.quality)] ?? MOST_IMAGE_OUTPUT_TOKENS) * count(body),
      images: count(body),
    }),
    inputUsage: (body) => ({ inputTokens: countTextTokens(typeof body.prompt === 'string' ? body.prompt : ''), outputTokens: 0 }),
    usageOf(answer) {
      const reply = answer as { data?: unknown[]; usage?: { input_tokens?: number; output_tokens?: number } } | undefined;
      const made = Array.isArray(reply?.data) ? reply.data.length : 0;
      const tokens = reply?.usage;
      return {
        usage: { inputTokens: tokens?.input_tokens ?? 0, outputTokens: tokens?.output_tokens ?? 0, images: made },
        source: 'upstream',
      };
    },
  };
}
