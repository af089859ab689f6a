import { Type } from 'typebox';

/**
 * The bodies of the OpenAI-compatible routes. Each states the type of only the fields Tollgate reads
 * (to route, hold, relay and bill the call); every other field goes upstream untouched. Nothing is
 * coerced, removed or defaulted: a wrong type is refused with 400 naming the field, as OpenAI does,
 * because a value Tollgate misreads is a call it misbills (a `"stream": "true"` that a permissive
 * upstream streams must not be taken for a whole answer). See docs/gateway.md.
 */

/** Output tokens a call may ask for; more is refused, not held: no model writes that much. */
const MAX_OUTPUT_TOKENS = 10_000_000;
/** Answers (`n`, `best_of`) a call may ask for. */
const MAX_ANSWERS = 128;
/** Pictures one image call may ask for. */
const MAX_IMAGES = 10;

type JsonType = 'string' | 'integer' | 'boolean' | 'object' | 'array';
/** The TypeScript type of a value of each JSON Schema type. */
interface ValueOf {
  string: string;
  integer: number;
  boolean: boolean;
  object: Record<string, unknown>;
  array: unknown[];
}

/**
 * One of `types` (a JSON Schema type list, not `anyOf`, so a violation is one error that names the
 * field and what was expected, and a valid value is one check).
 */
function ofTypes<T extends JsonType>(types: T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<ValueOf[T]>({ type: types, ...options });
}

/** `null` is OpenAI's "unset" for these parameters (a client that passes None sends it); so it is Tollgate's. */
function orNull<T extends JsonType>(type: T, options: Record<string, unknown> = {}) {
  return Type.Optional(Type.Unsafe<ValueOf[T] | null>({ type: [type, 'null'], ...options }));
}

const open = { additionalProperties: true } as const;
const model = Type.String({ minLength: 1 });
const stream = orNull('boolean');
const streamOptions = orNull('object', { properties: { include_usage: { type: ['boolean', 'null'] } }, ...open });
const outputTokens = orNull('integer', { minimum: 1, maximum: MAX_OUTPUT_TOKENS });
const answers = orNull('integer', { minimum: 1, maximum: MAX_ANSWERS });

/** POST /v1/chat/completions (and /api/v1/chat/completions). */
export const ChatCompletionsSchema = Type.Object(
  {
    model,
    messages: Type.Array(Type.Object({}, open), { minItems: 1 }),
    stream,
    stream_options: streamOptions,
    max_tokens: outputTokens,
    max_completion_tokens: outputTokens,
    n: answers,
  },
  open,
);

/** POST /v1/completions: a prompt is a string or an array (of strings, tokens or token arrays). */
export const CompletionsSchema = Type.Object(
  {
    model,
    prompt: ofTypes(['string', 'array']),
    stream,
    stream_options: streamOptions,
    max_tokens: outputTokens,
    max_completion_tokens: outputTokens,
    n: answers,
    best_of: answers,
  },
  open,
);

/** POST /v1/embeddings: the input is a string or a non-empty array. */
export const EmbeddingsSchema = Type.Object({ model, input: ofTypes(['string', 'array'], { minItems: 1 }) }, open);

/** POST /v1/images/generations. */
export const ImageGenerationsSchema = Type.Object(
  {
    model,
    prompt: Type.String({ minLength: 1 }),
    n: orNull('integer', { minimum: 1, maximum: MAX_IMAGES }),
    quality: orNull('string'),
  },
  open,
);
