import type { UpstreamAbort } from '#core/upstream.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { OutputCut } from '../admission.ts';
import type { PaidCall, SentCall, WholeReading } from '../paid-call.ts';
import { countPromptTokens, countTextTokens, guessPromptTokens, type ChatMessageLike } from '../tokens.ts';
import { OpenAiEvents, openAiUsage, type UpstreamUsage } from './openai-events.ts';
import {
  keyCallContext,
  keyOf,
  openAiErrorEvent,
  priceFor,
  sendToChannels,
  type OpenAiDeps,
  type OpenAiEndpoint,
  type Payer,
} from './openai.ts';

/** The two text endpoints differ only in where the prompt and the answer live, and in their output limit's name. */
export interface TextEndpoint extends OpenAiEndpoint {
  name: 'chat.completions' | 'completions';
}

export const CHAT: TextEndpoint = { name: 'chat.completions', path: '/chat/completions' };
export const COMPLETIONS: TextEndpoint = { name: 'completions', path: '/completions' };

/** A text request as the route's schema lets it through: the fields Tollgate reads, typed; the rest untouched. */
export type TextBody = Record<string, unknown> & {
  model: string;
  stream?: boolean | null;
  messages?: ChatMessageLike[];
  prompt?: unknown;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stream_options?: { include_usage?: unknown } | null;
  n?: number | null;
  best_of?: number | null;
};

/** A chat message's tool definitions and response format are read by the model too: the hold's guess counts them. */
const PROMPT_EXTRAS = ['tools', 'functions', 'response_format'] as const;

/** How many answers the call may produce: `n` choices (`best_of` are made, for legacy completions), of each prompt. */
function answersOf(body: TextBody, endpoint: TextEndpoint): number {
  const n = Math.max(body.n ?? 1, endpoint === COMPLETIONS ? (body.best_of ?? 1) : 1);
  const prompts =
    endpoint === COMPLETIONS && Array.isArray(body.prompt) && body.prompt.some((p) => typeof p !== 'number')
      ? body.prompt.length
      : 1;
  return n * Math.max(1, prompts);
}

/**
 * POST /v1/chat/completions and /v1/completions as a paid call: held for the prompt and the most the
 * answers may write — the request's own output limit, or the model's maximum output, cut to what the
 * balance affords (the limit is then sent upstream) — and billed from the upstream's usage, or from a
 * count of what was produced when it reports none.
 */
export function textCall(
  deps: OpenAiDeps,
  endpoint: TextEndpoint,
  requestId: string,
  body: TextBody,
  payer: Payer,
): PaidCall<OpenAiEvents, WholeReading> {
  const stream = body.stream === true;
  const context = keyCallContext(requestId, payer, endpoint.name, body.model, stream);
  const price = priceFor(deps, payer, body.model);
  const messages = endpoint === CHAT ? body.messages : undefined;
  const prompt = endpoint === COMPLETIONS ? body.prompt : undefined;
  const answers = answersOf(body, endpoint);
  // null is OpenAI's "unset": a request that sends it has no limit of its own.
  const ownLimit = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const upstream: Record<string, unknown> = { ...body };
  // Ask for the usage chunk whatever the client asked; it is dropped on the way back if unwanted.
  if (stream) upstream.stream_options = { ...body.stream_options, include_usage: true };
  // A model whose maximum output is not known gets the assumed one as its limit: the hold covers no more.
  const modelMax = price.maxOutputTokens ?? deps.defaultMaxOutput;
  const limitName = endpoint === CHAT ? 'max_completion_tokens' : 'max_tokens';
  if (ownLimit === undefined && price.maxOutputTokens === null) upstream[limitName] = modelMax;
  const cut: OutputCut | undefined =
    ownLimit === undefined ? { answers, limitOutput: (perAnswer) => (upstream[limitName] = perAnswer) } : undefined;

  let extras = '';
  for (const field of PROMPT_EXTRAS) if (body[field] !== undefined) extras += JSON.stringify(body[field]);
  const promptGuess = guessPromptTokens(messages, prompt) + Math.ceil(Buffer.byteLength(extras) / 3);
  const forwardUsage = stream && body.stream_options?.include_usage === true;

  return {
    terms: {
      context,
      key: keyOf(payer),
      price,
      worstCase: { inputTokens: promptGuess, outputTokens: (ownLimit ?? modelMax) * answers },
      // Rate limits count the request's own limit, or a typical answer, until the call ends.
      expectedTokens: promptGuess + (ownLimit ?? TYPICAL_ANSWER_TOKENS) * answers,
      overrun: 'capped',
      cut,
    },
    send: (signal: UpstreamAbort): Promise<SentCall> => sendToChannels(deps, endpoint, body.model, upstream, signal),
    estimate: (produced: string): Usage => ({
      inputTokens: countPromptTokens(messages, prompt),
      outputTokens: countTextTokens(produced),
    }),
    readWhole: (text) => readWholeText(text, endpoint),
    streamed: stream
      ? { read: () => new OpenAiEvents(forwardUsage), brokenEvent: (_stream, message) => openAiErrorEvent(message) }
      : undefined,
  };
}

/** Output tokens a request without a limit of its own is expected to write, for tokens-per-minute limits. */
const TYPICAL_ANSWER_TOKENS = 1024;

type TextAnswer = {
  usage?: UpstreamUsage;
  choices?: Array<{
    finish_reason?: string;
    message?: { content?: string | null; tool_calls?: unknown };
    text?: string;
  }>;
};

/** A whole chat or completions answer: its usage, its text (for counting), its finish reason. */
function readWholeText(text: string, endpoint: TextEndpoint): WholeReading {
  let parsed: TextAnswer = {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) parsed = value;
  } catch {
    // Not JSON: billed by counting, passed on as it came.
  }
  const choices = Array.isArray(parsed.choices) ? parsed.choices : [];
  let produced = '';
  for (const choice of choices) {
    if (endpoint === COMPLETIONS) produced += typeof choice?.text === 'string' ? choice.text : '';
    else {
      const content = choice?.message?.content;
      produced += typeof content === 'string' ? content : '';
      if (choice?.message?.tool_calls) produced += JSON.stringify(choice.message.tool_calls);
    }
  }
  const finish = choices[0]?.finish_reason;
  return { usage: openAiUsage(parsed.usage), produced, endReason: typeof finish === 'string' ? finish : 'stop' };
}
