/** POST /v1/embeddings, POST /v1/images/generations and the model list (protocols.md §3.7–3.9). */
import { randomUUID } from 'node:crypto';
import type { Behavior } from './behavior.ts';
import { errors } from './errors.ts';
import { checkModel, usageFor, type Body, type Outcome } from './generate.ts';
import { countTokens } from './tokens.ts';

export interface FakeModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export const DEFAULT_MODELS: readonly FakeModel[] = [
  ['gpt-4o-mini', 1721172741],
  ['gpt-4o', 1715367049],
  ['gpt-3.5-turbo-instruct', 1692901427],
  ['text-embedding-3-small', 1705948997],
  ['text-embedding-3-large', 1705953180],
  ['dall-e-2', 1698798177],
  ['dall-e-3', 1698785189],
  ['gpt-image-1', 1745517030],
].map(([id, created]) => ({
  id: id as string,
  object: 'model' as const,
  created: created as number,
  owned_by: 'system',
}));

export function toModel(model: string | (Partial<FakeModel> & { id: string })): FakeModel {
  if (typeof model === 'string') return { id: model, object: 'model', created: 1700000000, owned_by: 'system' };
  return { object: 'model', created: 1700000000, owned_by: 'system', ...model };
}

/** A deterministic unit vector for `text`: xorshift32 seeded with the FNV-1a hash of the text. */
export function fakeEmbedding(text: string, dimensions: number): Float32Array {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193);
  seed = seed >>> 0 || 1;
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    const value = seed / 0x80000000 - 1;
    vector[i] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! * scale;
  return vector;
}

/** Base64 of the vector's little-endian float32 bytes (what `encoding_format: "base64"` returns). */
export function embeddingBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

const DIMENSIONS: Record<string, number> = { 'text-embedding-3-large': 3072 };

export function embeddings(body: Body, behavior: Behavior, models: ReadonlyMap<string, unknown>): Outcome {
  if (body.input === undefined) return { kind: 'error', reply: errors.missing('input') };
  const bad = checkModel(body, models);
  if (bad) return bad;
  const input = body.input;
  // string | string[] | number[] (one token array) | number[][]
  const items: unknown[] = Array.isArray(input) && input.length > 0 && typeof input[0] !== 'number' ? input : [input];
  if ((Array.isArray(input) && input.length === 0) || input === '') {
    return {
      kind: 'error',
      reply: errors.badRequest(
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      ),
    };
  }
  const model = body.model as string;
  const dimensions =
    typeof body.dimensions === 'number' && body.dimensions > 0
      ? Math.floor(body.dimensions)
      : (DIMENSIONS[model] ?? 1536);
  const base64 = body.encoding_format === 'base64';
  let promptTokens = 0;
  const data = items.map((item, index) => {
    const text = typeof item === 'string' ? item : JSON.stringify(item);
    promptTokens += typeof item === 'string' ? countTokens(item) : Array.isArray(item) ? item.length : 1;
    const vector = fakeEmbedding(text, dimensions);
    return { object: 'embedding', index, embedding: base64 ? embeddingBase64(vector) : Array.from(vector) };
  });
  const usage = usageFor(behavior, promptTokens, 0);
  const result: Record<string, unknown> = { object: 'list', data, model };
  if (usage)
    result.usage = {
      prompt_tokens: usage.prompt_tokens,
      total_tokens: behavior.usage === undefined ? usage.prompt_tokens : usage.total_tokens,
    };
  return { kind: 'json', body: JSON.stringify(result) };
}

/** A 1×1 PNG: what every fake image is (and what `url` images serve). */
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
export const PNG = Buffer.from(PNG_BASE64, 'base64');

/** gpt-image-1 output tokens per image, by quality, for square and for oblong sizes. */
const IMAGE_TOKENS: Record<string, [number, number]> = { low: [272, 408], medium: [1056, 1584], high: [4160, 6240] };

export function images(body: Body, behavior: Behavior, models: ReadonlyMap<string, unknown>, origin: string): Outcome {
  if (typeof body.prompt !== 'string') return { kind: 'error', reply: errors.missing('prompt') };
  const model = typeof body.model === 'string' ? body.model : 'dall-e-2';
  const bad = checkModel({ ...body, model }, models);
  if (bad) return bad;
  const n = typeof body.n === 'number' ? body.n : 1;
  if (!Number.isInteger(n) || n < 1 || n > 10)
    return {
      kind: 'error',
      reply: errors.badRequest(
        `Invalid 'n': integer between 1 and 10 expected, got ${String(body.n)}.`,
        'n',
        'invalid_value',
      ),
    };
  if (model === 'dall-e-3' && n !== 1)
    return { kind: 'error', reply: errors.badRequest('You must provide n=1 for this model.', 'n') };
  const created = Math.floor(Date.now() / 1000);

  if (model.startsWith('gpt-image')) {
    if (body.response_format !== undefined)
      return {
        kind: 'error',
        reply: errors.badRequest("Unknown parameter: 'response_format'.", 'response_format', 'unknown_parameter'),
      };
    const size = typeof body.size === 'string' && body.size !== 'auto' ? body.size : '1024x1024';
    const quality = typeof body.quality === 'string' && body.quality in IMAGE_TOKENS ? body.quality : 'medium';
    const [square, oblong] = IMAGE_TOKENS[quality]!;
    const [width, height] = size.split('x');
    const inputTokens = countTokens(body.prompt);
    const usage = usageFor(behavior, inputTokens, n * (width === height ? square : oblong));
    const result: Record<string, unknown> = {
      created,
      background: 'opaque',
      data: Array.from({ length: n }, () => ({ b64_json: PNG_BASE64 })),
      output_format: 'png',
      quality,
      size,
    };
    if (usage) {
      result.usage = {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: { image_tokens: 0, text_tokens: usage.prompt_tokens },
        output_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
      };
    }
    return { kind: 'json', body: JSON.stringify(result) };
  }
  const b64 = body.response_format === 'b64_json';
  const data = Array.from({ length: n }, () => ({
    ...(model === 'dall-e-3' ? { revised_prompt: body.prompt } : {}),
    ...(b64 ? { b64_json: PNG_BASE64 } : { url: `${origin}/files/img-${randomUUID()}.png` }),
  }));
  return { kind: 'json', body: JSON.stringify({ created, data }) };
}
