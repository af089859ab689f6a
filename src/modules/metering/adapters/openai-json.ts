import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { PaidCall } from '../paid-call.ts';
import { countTextTokens, guessPromptTokens } from '../tokens.ts';
import { reportedUsage } from '../usage.ts';
import { keyCallContext, priceFor, sendToChannels, type OpenAiDeps, type OpenAiEndpoint } from './openai.ts';

/** What differs between the whole-JSON endpoints (embeddings, images), which are never streamed. */
interface JsonEndpoint<B> extends OpenAiEndpoint {
  /** The most the call can use, for the hold. */
  worstCase(body: B): Usage;
  /** The input alone, counted: what a call is billed when its answer says nothing (or the client left first). */
  inputUsage(body: B): Usage;
  /** What the call used, from the upstream's answer; undefined when it says nothing to bill by. */
  usageOf(answer: unknown): Usage | undefined;
}

export type EmbeddingsBody = Record<string, unknown> & { model: string; input: unknown };
export type ImagesBody = Record<string, unknown> & {
  model: string;
  prompt: string;
  n?: number | null;
  quality?: string | null;
};

/**
 * Output tokens of one gpt-image picture at each quality, for the largest size (OpenAI's table);
 * `auto` or none may be any of them. The hold must cover them: a picture cannot be cut short.
 */
const IMAGE_OUTPUT_TOKENS: Record<string, number> = { low: 408, medium: 1584, high: 6240 };
const MOST_IMAGE_OUTPUT_TOKENS = 6240;

function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (Array.isArray(input))
    return input
      .map((item) => (typeof item === 'string' ? item : Array.isArray(item) ? item.join(' ') : String(item)))
      .join('\n');
  return '';
}

/** POST /v1/embeddings: billed by input tokens. */
export const EMBEDDINGS: JsonEndpoint<EmbeddingsBody> = {
  name: 'embeddings',
  path: '/embeddings',
  worstCase: (body) => ({ inputTokens: guessPromptTokens(undefined, inputText(body.input)), outputTokens: 0 }),
  inputUsage: (body) => ({ inputTokens: countTextTokens(inputText(body.input)), outputTokens: 0 }),
  usageOf: (answer) =>
    reportedUsage((answer as { usage?: { prompt_tokens?: unknown } } | undefined)?.usage?.prompt_tokens, undefined),
};

/** POST /v1/images/generations: billed per image made, plus tokens when the model reports them (gpt-image-1). */
export function imagesEndpoint(maxOutputTokensPerImage: number): JsonEndpoint<ImagesBody> {
  const count = (body: ImagesBody) => body.n ?? 1;
  return {
    name: 'images.generations',
    path: '/images/generations',
    worstCase: (body) => ({
      inputTokens: guessPromptTokens(undefined, body.prompt),
      outputTokens:
        Math.max(maxOutputTokensPerImage, IMAGE_OUTPUT_TOKENS[String(body.quality)] ?? MOST_IMAGE_OUTPUT_TOKENS) *
        count(body),
      images: count(body),
    }),
    inputUsage: (body) => ({ inputTokens: countTextTokens(body.prompt), outputTokens: 0 }),
    usageOf(answer) {
      const reply = answer as
        { data?: unknown[]; usage?: { input_tokens?: unknown; output_tokens?: unknown } } | undefined;
      const made = Array.isArray(reply?.data) ? reply.data.length : 0;
      // Models billed per image alone (dall-e) report no tokens: those are zero.
      const tokens = reportedUsage(reply?.usage?.input_tokens, reply?.usage?.output_tokens) ?? {
        inputTokens: 0,
        outputTokens: 0,
      };
      return { ...tokens, images: made };
    },
  };
}

/** A call to a whole-JSON endpoint as a paid call: held for its worst case, billed from its answer. */
export function jsonCall<B extends Record<string, unknown> & { model: string }>(
  deps: OpenAiDeps,
  endpoint: JsonEndpoint<B>,
  requestId: string,
  body: B,
  key: ResolvedKey,
): PaidCall {
  const worstCase = endpoint.worstCase(body);
  return {
    terms: {
      context: keyCallContext(requestId, key, endpoint.name, body.model, false),
      key,
      price: priceFor(deps, key, body.model),
      worstCase,
      expectedTokens: worstCase.inputTokens + worstCase.outputTokens,
      // Nothing here can be cut short, and the worst case is the most the call can use.
      overrun: 'capped',
    },
    send: (signal) => sendToChannels(deps, endpoint, body.model, body, signal),
    estimate: () => endpoint.inputUsage(body),
    readWhole(text) {
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = undefined;
      }
      return { usage: endpoint.usageOf(answer), produced: '', endReason: 'stop' };
    },
  };
}
