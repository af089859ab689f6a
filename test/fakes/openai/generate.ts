/**
 * POST /v1/chat/completions and POST /v1/completions: the reply, its usage, and the body — one JSON
 * document, or the list of SSE events of protocols.md §3.6 ending with `data: [DONE]`.
 */
import { randomUUID } from 'node:crypto';
import type { Behavior, FakeUsage } from './behavior.ts';
import { errors, type ErrorReply } from './errors.ts';
import { contentTexts, countTokens, generatedWords, IMAGE_PART_TOKENS, sliceInto, splitTokens } from './tokens.ts';

export type Outcome =
  { kind: 'json'; body: string } | { kind: 'stream'; events: string[] } | { kind: 'error'; reply: ErrorReply };

export type Body = Record<string, unknown>;

export const SYSTEM_FINGERPRINT = 'fp_fake0001';
/** How many prompt tokens the default reply echoes. */
const ECHO_TOKENS = 64;
/** Tool-call arguments stream in fragments of this many characters. */
const ARGUMENT_FRAGMENT = 8;

const randomId = (prefix: string, length: number) =>
  prefix + (randomUUID() + randomUUID()).replace(/-/g, '').slice(0, length);
const now = () => Math.floor(Date.now() / 1000);

/** The reply text: `text=`, else `words=`, else "Echo: " and the first 64 tokens of `source`. */
function replyText(behavior: Behavior, source: string): string {
  if (behavior.text !== undefined) return behavior.text;
  if (behavior.words !== undefined) return generatedWords(behavior.words);
  const echoed = splitTokens(source).slice(0, ECHO_TOKENS).join('').trim();
  return echoed ? `Echo: ${echoed}` : 'Hello! How can I help you today?';
}

interface Reply {
  text: string;
  /** What the stream sends: one token per chunk, or `chunks=` character slices. */
  pieces: string[];
  completionTokens: number;
  truncated: boolean;
}

function reply(behavior: Behavior, source: string, maxTokens: number | undefined): Reply {
  let tokens = splitTokens(replyText(behavior, source));
  const truncated = maxTokens !== undefined && tokens.length > maxTokens;
  if (truncated) tokens = tokens.slice(0, maxTokens);
  const text = tokens.join('');
  return {
    text,
    pieces: behavior.chunks ? sliceInto(text, behavior.chunks) : tokens,
    completionTokens: tokens.length,
    truncated,
  };
}

/** The usage to report: the behaviour's numbers, none at all, or the computed ones. */
export function usageFor(
  behavior: Behavior,
  promptTokens: number,
  completionTokens: number,
): Required<FakeUsage> | undefined {
  if (behavior.usage === 'none') return undefined;
  const { prompt_tokens, completion_tokens, total_tokens } = behavior.usage ?? {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
  };
  return { prompt_tokens, completion_tokens, total_tokens: total_tokens ?? prompt_tokens + completion_tokens };
}

function chatUsage(usage: Required<FakeUsage>): Record<string, unknown> {
  return {
    ...usage,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * The events of a stream: one per serialized choice, `"usage":null` on each when include_usage is
 * on (and the usage itself on choice `usageAt`, if ≥ 0), the `choices: []` usage chunk when
 * usageAt is -1 and include_usage is on, then `[DONE]`.
 */
function streamEvents(
  prefix: string,
  choices: string[],
  usage: string | undefined,
  usageAt: number,
  includeUsage: boolean,
): string[] {
  const events: string[] = [];
  for (let i = 0; i < choices.length; i++) {
    const tail = usage !== undefined && i === usageAt ? `,"usage":${usage}` : includeUsage ? ',"usage":null' : '';
    events.push(`${prefix}[${choices[i]}]${tail}}\n\n`);
  }
  if (usage !== undefined && usageAt === -1 && includeUsage) events.push(`${prefix}[],"usage":${usage}}\n\n`);
  events.push('data: [DONE]\n\n');
  return events;
}

/** Where the usage goes among `count` choices, the last being the finish chunk; -1 = its own chunk. */
function usageIndex(behavior: Behavior, count: number, firstContent: number): number {
  switch (behavior.usageIn) {
    case 'last-content':
      return count - 2 >= firstContent ? count - 2 : count - 1;
    case 'finish':
      return count - 1;
    default:
      return -1;
  }
}

function includeUsage(body: Body): boolean {
  const options = body.stream_options;
  return (
    typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true
  );
}

function maxTokensOf(body: Body, fallback?: number): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && value >= 0 ? Math.floor(value) : fallback;
}

/** Validates `model` against the served models; an error outcome, or undefined when fine. */
export function checkModel(body: Body, models: ReadonlyMap<string, unknown>): Outcome | undefined {
  if (typeof body.model !== 'string' || body.model === '')
    return { kind: 'error', reply: errors.badRequest('you must provide a model parameter') };
  if (!models.has(body.model)) return { kind: 'error', reply: errors.modelNotFound(body.model) };
  return undefined;
}

interface Tool {
  name: string;
  parameters: unknown;
}

/** The tool to call: the forced one, else the first function; none when tool_choice is "none" or a tool result just came in. */
function pickTool(body: Body, messages: unknown[]): Tool | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0 || body.tool_choice === 'none') return undefined;
  const last = messages.at(-1) as { role?: unknown } | undefined;
  if (last?.role === 'tool') return undefined;
  const tools = (body.tools as unknown[])
    .map((tool) => (tool as { function?: { name?: unknown; parameters?: unknown } } | null)?.function)
    .filter((fn): fn is { name: string; parameters?: unknown } => typeof fn?.name === 'string');
  const forced = (body.tool_choice as { function?: { name?: unknown } } | undefined)?.function?.name;
  const tool = tools.find((fn) => fn.name === forced) ?? tools[0];
  return tool && { name: tool.name, parameters: tool.parameters };
}

/** Arguments filled from the JSON schema: strings get the user's text, numbers 1, booleans true. */
function argumentsFor(parameters: unknown, userText: string): string {
  const properties =
    (parameters as { properties?: Record<string, { type?: unknown; enum?: unknown[] }> } | undefined)?.properties ?? {};
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (Array.isArray(schema.enum) && schema.enum.length > 0) values[name] = schema.enum[0];
    else if (schema.type === 'string') values[name] = userText;
    else if (schema.type === 'number' || schema.type === 'integer') values[name] = 1;
    else if (schema.type === 'boolean') values[name] = true;
    else if (schema.type === 'array') values[name] = [];
    else if (schema.type === 'object') values[name] = {};
    else values[name] = null;
  }
  return JSON.stringify(values);
}

export function chatCompletion(body: Body, behavior: Behavior, models: ReadonlyMap<string, unknown>): Outcome {
  if (body.messages === undefined) return { kind: 'error', reply: errors.missing('messages') };
  if (!Array.isArray(body.messages)) {
    return {
      kind: 'error',
      reply: errors.badRequest(
        `Invalid type for 'messages': expected an array of objects, but got ${typeof body.messages} instead.`,
        'messages',
        'invalid_type',
      ),
    };
  }
  if (body.messages.length === 0) {
    return {
      kind: 'error',
      reply: errors.badRequest(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        'messages',
        'empty_array',
      ),
    };
  }
  const bad = checkModel(body, models);
  if (bad) return bad;
  const messages = body.messages as unknown[];

  let promptTokens = 0;
  let userText = '';
  for (const message of messages) {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    const { texts, images } = contentTexts(content);
    for (const text of texts) promptTokens += countTokens(text);
    promptTokens += images * IMAGE_PART_TOKENS;
    if (role === 'user') userText = texts.join(' ');
  }

  const model = body.model as string;
  const id = randomId('chatcmpl-', 29);
  const created = now();
  const tool = pickTool(body, messages);
  let pieces: string[];
  let completionTokens: number;
  let finish: 'stop' | 'length' | 'tool_calls';
  let message: Record<string, unknown>;
  let head: string;
  let piece: (text: string) => string;

  if (tool) {
    const call = {
      id: randomId('call_', 24),
      type: 'function',
      function: { name: tool.name, arguments: argumentsFor(tool.parameters, userText) },
    };
    const args = call.function.arguments;
    pieces = behavior.chunks
      ? sliceInto(args, behavior.chunks)
      : sliceInto(args, Math.ceil(args.length / ARGUMENT_FRAGMENT));
    completionTokens = 1 + Math.ceil(args.length / ARGUMENT_FRAGMENT);
    finish = 'tool_calls';
    message = { role: 'assistant', content: null, tool_calls: [call], refusal: null, annotations: [] };
    head = JSON.stringify({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, ...call, function: { name: tool.name, arguments: '' } }],
      refusal: null,
    });
    piece = (fragment) => `{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(fragment)}}}]}`;
  } else {
    const r = reply(behavior, userText, maxTokensOf(body));
    pieces = r.pieces;
    completionTokens = r.completionTokens;
    finish = r.truncated ? 'length' : 'stop';
    message = { role: 'assistant', content: r.text, refusal: null, annotations: [] };
    head = '{"role":"assistant","content":"","refusal":null}';
    piece = (text) => `{"content":${JSON.stringify(text)}}`;
  }
  const usage = usageFor(behavior, promptTokens, completionTokens);

  if (body.stream !== true) {
    const result: Record<string, unknown> = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    };
    if (behavior.rawUsage !== undefined) result.usage = JSON.parse(behavior.rawUsage) as unknown;
    else if (usage) result.usage = chatUsage(usage);
    result.service_tier = 'default';
    result.system_fingerprint = SYSTEM_FINGERPRINT;
    return { kind: 'json', body: JSON.stringify(result) };
  }

  const choice = (delta: string, reason: string | null) =>
    `{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${reason === null ? 'null' : `"${reason}"`}}`;
  const choices = [choice(head, null), ...pieces.map((p) => choice(piece(p), null)), choice('{}', finish)];
  const prefix = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
  const usageJson = behavior.rawUsage ?? (usage && JSON.stringify(chatUsage(usage)));
  return {
    kind: 'stream',
    events: streamEvents(prefix, choices, usageJson, usageIndex(behavior, choices.length, 1), includeUsage(body)),
  };
}

/** Legacy text completion; `max_tokens` defaults to 16 as on OpenAI. */
export function textCompletion(body: Body, behavior: Behavior, models: ReadonlyMap<string, unknown>): Outcome {
  const bad = checkModel(body, models);
  if (bad) return bad;
  if (body.prompt === undefined) return { kind: 'error', reply: errors.missing('prompt') };
  const prompts = Array.isArray(body.prompt) ? (body.prompt as unknown[]) : [body.prompt];
  let promptTokens = 0;
  const texts: string[] = [];
  for (const prompt of prompts) {
    if (typeof prompt === 'string') {
      texts.push(prompt);
      promptTokens += countTokens(prompt);
    } else if (Array.isArray(prompt)) promptTokens += prompt.length;
    else if (typeof prompt === 'number') promptTokens += 1;
  }
  const r = reply(behavior, texts.join(' '), maxTokensOf(body, 16));
  const usage = usageFor(behavior, promptTokens, r.completionTokens);
  const finish = r.truncated ? 'length' : 'stop';
  const id = randomId('cmpl-', 29);
  const created = now();
  const model = body.model as string;

  if (body.stream !== true) {
    const result: Record<string, unknown> = {
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ text: r.text, index: 0, logprobs: null, finish_reason: finish }],
    };
    if (behavior.rawUsage !== undefined) result.usage = JSON.parse(behavior.rawUsage) as unknown;
    else if (usage) result.usage = usage;
    return { kind: 'json', body: JSON.stringify(result) };
  }
  const choice = (text: string, reason: string | null) =>
    `{"text":${JSON.stringify(text)},"index":0,"logprobs":null,"finish_reason":${reason === null ? 'null' : `"${reason}"`}}`;
  const choices = [...r.pieces.map((p) => choice(p, null)), choice('', finish)];
  const prefix = `data: {"id":"${id}","object":"text_completion","created":${created},"model":${JSON.stringify(model)},"choices":`;
  return {
    kind: 'stream',
    events: streamEvents(
      prefix,
      choices,
      behavior.rawUsage ?? (usage && JSON.stringify(usage)),
      usageIndex(behavior, choices.length, 0),
      includeUsage(body),
    ),
  };
}
