import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { AppError, translate } from '#core/errors.ts';
import { langOf, type Lang } from '#core/i18n.ts';
import { encodeJson } from '#core/upstream.ts';
import type { ResolvedKey } from '#modules/keys/keys.service.ts';
import type { Usage } from '#modules/pricing/price.ts';
import { admit, type AdmissionDeps, type AdmittedCall } from '#modules/metering/admission.ts';
import { callContext } from '#modules/metering/bill.ts';
import { ClientWatch } from '#modules/metering/client-watch.ts';
import { sendWithFailover, type FailoverOptions } from '#modules/metering/failover.ts';
import { SseRelay, type UpstreamUsage } from '#modules/metering/openai-sse.ts';
import { countPromptTokens, countTextTokens, guessPromptTokens, type ChatMessageLike } from '#modules/metering/tokens.ts';

export interface ChatDeps extends AdmissionDeps {
  failover: FailoverOptions;
  /** Output tokens held for when the request sets no max_tokens. */
  defaultMaxOutput: number;
}

/** The two text endpoints differ only in where the prompt and the answer live. */
export interface TextEndpoint {
  name: 'chat.completions' | 'completions';
  path: '/chat/completions' | '/completions';
}

type Body = Record<string, unknown> & {
  model?: unknown;
  stream?: unknown;
  messages?: unknown;
  prompt?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  stream_options?: unknown;
  n?: unknown;
  best_of?: unknown;
};

/** Output tokens a call may ask for; more is refused (400), not held: no model writes that much. */
const MAX_OUTPUT_TOKENS = 10_000_000;
/** Answers (`n`, `best_of`) a call may ask for. */
const MAX_ANSWERS = 128;

/** A positive integer field, absent when unset; VALIDATION_FAILED when over `max`. */
function positiveInt(value: unknown, name: string, max: number): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) return undefined;
  if (value > max) throw new AppError('VALIDATION_FAILED', { detail: `${name} must be at most ${max}` });
  return value;
}

function toUsage(usage: UpstreamUsage): Usage {
  return { inputTokens: Math.max(0, usage.prompt_tokens ?? 0), outputTokens: Math.max(0, usage.completion_tokens ?? 0) };
}

/** How many answers the call may produce: `n` choices (`best_of` are made, for legacy completions), of each prompt. */
function answersOf(body: Body, endpoint: TextEndpoint): number {
  const n = Math.max(positiveInt(body.n, 'n', MAX_ANSWERS) ?? 1, endpoint.name === 'completions' ? (positiveInt(body.best_of, 'best_of', MAX_ANSWERS) ?? 1) : 1);
  const prompts = endpoint.name === 'completions' && Array.isArray(body.prompt) && body.prompt.some((p) => typeof p !== 'number') ? body.prompt.length : 1;
  return n * Math.max(1, prompts);
}

/**
 * POST /v1/chat/completions and /v1/completions: admit, hold, relay through the channels (stream or
 * not) and settle to the upstream's usage, or to a count of what was produced when it reports none.
 * The call is settled (money durable, slots freed) before the client's answer is complete.
 */
export async function relayText(deps: ChatDeps, endpoint: TextEndpoint, request: FastifyRequest, reply: FastifyReply, key: ResolvedKey): Promise<void> {
  const body = request.body as Body;
  const context = callContext(request, key, endpoint.name, body.model, body.stream === true);
  const messages = endpoint.name === 'chat.completions' ? body.messages : undefined;
  if (endpoint.name === 'chat.completions' && (!Array.isArray(messages) || messages.length === 0)) {
    throw new AppError('VALIDATION_FAILED', { detail: 'messages must be a non-empty array' });
  }
  if (Array.isArray(messages)) {
    const bad = messages.findIndex((m) => typeof m !== 'object' || m === null || Array.isArray(m));
    if (bad >= 0) throw new AppError('VALIDATION_FAILED', { detail: `messages[${bad}] must be an object` });
  }
  if (endpoint.name === 'completions' && body.prompt === undefined) throw new AppError('VALIDATION_FAILED', { detail: 'prompt is required' });
  const stream = context.stream;
  const prompt = endpoint.name === 'completions' ? body.prompt : undefined;
  const maxOutput =
    (positiveInt(body.max_completion_tokens, 'max_completion_tokens', MAX_OUTPUT_TOKENS) ?? positiveInt(body.max_tokens, 'max_tokens', MAX_OUTPUT_TOKENS) ?? deps.defaultMaxOutput) *
    answersOf(body, endpoint);
  const call = await admit(deps, key, context, { inputTokens: guessPromptTokens(messages as ChatMessageLike[] | undefined, prompt), outputTokens: maxOutput }, reply);

  const clientAskedUsage = stream && (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const estimate = (produced: string): Usage => ({
    inputTokens: countPromptTokens(messages as ChatMessageLike[] | undefined, prompt),
    outputTokens: countTextTokens(produced),
  });
  const client = new ClientWatch(reply.raw);
  let channelId: string | null = null;
  try {
    const routed = await sendWithFailover(
      deps.channels,
      context.model,
      endpoint.path,
      (channel) => {
        const upstream: Body = { ...body, model: channel.modelMap[context.model] ?? context.model };
        // Ask for the usage chunk whatever the client asked; it is dropped on the way back if unwanted.
        if (stream) upstream.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
        return encodeJson(upstream);
      },
      client.signal,
      deps.failover,
    );
    channelId = routed.channel.id;
    if (routed.response.statusCode >= 300) {
      // The upstream refused the request itself (a 4xx other than 429): nothing was produced, nothing is charged.
      const text = await routed.response.body.text();
      await call.cancel({ channelId, httpStatus: routed.response.statusCode, endReason: 'upstream_refused' });
      return await reply.status(routed.response.statusCode).type(contentTypeOf(routed.response)).send(text);
    }
    await deps.channels.succeeded(routed.channel);
    if (stream) return await relayStream(call, reply, routed.response, clientAskedUsage, client, channelId, estimate, langOf(request));
    return await relayWhole(call, reply, routed.response, client, channelId, estimate, endpoint);
  } catch (error) {
    if (client.aborted) {
      // The client went away before the upstream answered: the upstream was stopped; bill the prompt it read (rule 5).
      await call.settle(estimate(''), 'estimated', { channelId, httpStatus: 499, endReason: 'client_disconnect', error: 'client closed the connection' });
    } else {
      await call.cancel({ channelId, httpStatus: error instanceof AppError ? error.status : 502, endReason: 'upstream_error', error: (error as Error).message });
    }
    throw error;
  } finally {
    client.dispose();
    await call.release();
  }
}

/**
 * Takes the reply over for a stream: status 200 and the SSE headers, with the headers set so far (the
 * rate limits'); proxies are asked not to buffer it.
 */
export function openEventStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  // getHeaders() makes a new object: set on it, not spread into a literal with more keys (V8's slow
  // path there cost ~6 µs a stream, more than the rest of this function).
  const headers = reply.getHeaders() as Record<string, string>;
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  reply.raw.writeHead(200, headers);
  return reply.raw;
}

/** Writes to the client, waiting while its buffer is full (a slow reader must not fill our memory). */
export async function write(raw: ServerResponse, text: string | Uint8Array): Promise<void> {
  if (raw.destroyed || raw.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

function contentTypeOf(response: Dispatcher.ResponseData): string {
  return String(response.headers['content-type'] ?? 'application/json');
}

/** A whole JSON answer: billed from its `usage`, then passed on byte for byte. */
async function relayWhole(
  call: AdmittedCall,
  reply: FastifyReply,
  response: Dispatcher.ResponseData,
  client: ClientWatch,
  channelId: string,
  estimate: (produced: string) => Usage,
  endpoint: TextEndpoint,
): Promise<void> {
  // The answer is on its way: let it arrive even if the client leaves now, and bill what it says.
  client.keepUpstream();
  const text = await response.body.text();
  let parsed: { usage?: UpstreamUsage; choices?: Array<{ finish_reason?: string; message?: { content?: string | null; tool_calls?: unknown }; text?: string }> } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // Not JSON: billed by counting, passed on as it came.
  }
  const produced = (parsed.choices ?? [])
    .map((c) => (endpoint.name === 'completions' ? (c.text ?? '') : (c.message?.content ?? '') + (c.message?.tool_calls ? JSON.stringify(c.message.tool_calls) : '')))
    .join('');
  const usage = parsed.usage ? toUsage(parsed.usage) : estimate(produced);
  const endReason = client.gone ? 'client_disconnect' : (parsed.choices?.[0]?.finish_reason ?? 'stop');
  await call.settle(usage, parsed.usage ? 'upstream' : 'estimated', { channelId, httpStatus: response.statusCode, endReason });
  await reply.status(response.statusCode).type(contentTypeOf(response)).send(text);
}

/**
 * A stream: events pass through as they arrive; the usage chunk is read (and dropped unless the client
 * asked for it). If the client goes away the upstream is aborted and the prompt plus what was produced
 * so far is billed. An upstream failure before any output is not billed; after some output, what was
 * produced is, and the client gets an in-band error event (so it never mistakes a cut answer for a whole one).
 */
async function relayStream(
  call: AdmittedCall,
  reply: FastifyReply,
  response: Dispatcher.ResponseData,
  forwardUsage: boolean,
  client: ClientWatch,
  channelId: string,
  estimate: (produced: string) => Usage,
  lang: Lang,
): Promise<void> {
  const relay = new SseRelay(forwardUsage);
  const raw = openEventStream(reply);
  // From `[DONE]` on, the events wait for the settle and go out with the end of the answer, in one
  // write: the client does not see the stream finished before its call is billed.
  const closing: Array<string | Uint8Array> = [];
  let failure: string | undefined;
  try {
    for await (const chunk of response.body) {
      const out = relay.push(chunk as Buffer);
      if (relay.sawDone) closing.push(out);
      else if (out.length > 0) await write(raw, out);
      // An in-band error ends the answer: stop reading, settle, then pass the error on.
      if (relay.upstreamError !== undefined) break;
    }
    const tail = relay.flush();
    if (relay.sawDone) closing.push(tail);
    else if (tail.length > 0) await write(raw, tail);
  } catch (error) {
    failure = (error as Error).message;
  }

  const disconnected = client.aborted;
  const upstreamFailed = !disconnected && (failure !== undefined || relay.upstreamError !== undefined);
  const endReason = disconnected ? 'client_disconnect' : upstreamFailed ? 'upstream_error' : (relay.finishReason ?? (relay.sawDone ? 'stop' : 'incomplete'));
  const outcome = { channelId, httpStatus: 200, endReason, error: failure ?? relay.upstreamError };
  try {
    // The text is read back (every event parsed) only when the upstream gave no usage to bill by.
    if (relay.usage) await call.settle(toUsage(relay.usage), 'upstream', outcome);
    else if (upstreamFailed && relay.producedText().length === 0) await call.cancel(outcome);
    else await call.settle(estimate(relay.producedText()), 'estimated', outcome);
  } finally {
    if (!disconnected && !raw.destroyed) {
      // Written in one turn: Node sends them and the end of the chunked answer in one system call.
      for (const out of closing) if (out.length > 0) raw.write(out);
      if (relay.errorEvent !== undefined) await write(raw, relay.errorEvent);
      else if (failure !== undefined) {
        const error = { message: translate(lang, 'UPSTREAM_ERROR', { detail: failure }), type: 'server_error', param: null, code: null };
        await write(raw, `data: ${JSON.stringify({ error })}\n\n`);
      }
    }
    if (!raw.destroyed) raw.end();
  }
}
