import type { FastifyReply } from 'fastify';
import type { Dispatcher } from 'undici';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { Channel } from '#modules/channels/channels.service.ts';
import type { DifyFamily } from '#modules/channels/dify-app.ts';
import { admitPriced, type AdmissionDeps, type AdmittedCall } from '#modules/metering/admission.ts';
import type { CallContext, Outcome } from '#modules/metering/bill.ts';
import { openEventStream, write } from '#modules/gateway/chat.ts';
import { ClientWatch } from '#modules/metering/client-watch.ts';
import { countTextTokens } from '#modules/metering/tokens.ts';
import type { Usage } from '#modules/pricing/price.ts';
import { DifyStreamReader, tokensOf, type DifyTokens, type DifyUsageFields } from './dify-stream.ts';
import { DifyService, type DifyCaller } from './dify.service.ts';
import type { DifyMessageKind } from './dify.tables.ts';

export interface DifyRelayDeps {
  dify: DifyService;
  billing: AdmissionDeps;
  /** Output tokens held for a call, which Dify cannot bound. */
  defaultMaxOutput: number;
  /** After the client left and the task was stopped, how long the rest of the stream (and its usage) is awaited. */
  stopDrainMs: number;
}

/** The three generation endpoints: where they go and what they are called. */
export interface Generation {
  family: DifyFamily;
  endpoint: 'chat-messages' | 'completion-messages' | 'workflows/run';
  kind: DifyMessageKind;
  /** Dify's path of the endpoint and of its stop. */
  path: string;
  stopPath: (taskId: string) => string;
}

export const GENERATIONS = {
  chat: { family: 'chat', endpoint: 'chat-messages', kind: 'chat', path: '/chat-messages', stopPath: (t: string) => `/chat-messages/${encodeURIComponent(t)}/stop` },
  completion: {
    family: 'completion',
    endpoint: 'completion-messages',
    kind: 'completion',
    path: '/completion-messages',
    stopPath: (t: string) => `/completion-messages/${encodeURIComponent(t)}/stop`,
  },
  workflow: { family: 'workflow', endpoint: 'workflows/run', kind: 'workflow', path: '/workflows/run', stopPath: (t: string) => `/workflows/tasks/${encodeURIComponent(t)}/stop` },
} as const satisfies Record<string, Generation>;

/** What a client may send to a generation endpoint; `user` and anything else unknown is never forwarded. */
export interface GenerationBody {
  query?: string;
  inputs?: Record<string, unknown>;
  response_mode?: 'streaming' | 'blocking';
  conversation_id?: string | null;
  files?: unknown[] | null;
  auto_generate_name?: boolean;
  workflow_id?: string;
}

/** Every `upload_file_id` the request refers to, in `files` and in file variables of `inputs`. */
function fileIdsOf(value: unknown, found: Set<string> = new Set(), depth = 0): Set<string> {
  if (depth > 6 || typeof value !== 'object' || value === null) return found;
  if (Array.isArray(value)) for (const item of value) fileIdsOf(item, found, depth + 1);
  else
    for (const [name, item] of Object.entries(value)) {
      if (name === 'upload_file_id' && typeof item === 'string') found.add(item);
      else fileIdsOf(item, found, depth + 1);
    }
  return found;
}

function textOf(body: GenerationBody): string {
  const inputs = Object.values(body.inputs ?? {}).filter((v): v is string => typeof v === 'string');
  return [body.query ?? '', ...inputs].join('\n');
}

const asUsage = (tokens: DifyTokens): Usage => ({ inputTokens: tokens.inputTokens, outputTokens: tokens.outputTokens });

/**
 * POST /api/dify/chat-messages, /completion-messages and /workflows/run: the caller's conversation (or
 * a new one on the best app), the worst case held, Dify called with Tollgate's `user`, the answer
 * relayed (blocking, or streamed event by event) and billed from Dify's usage, or counted when it has none.
 */
export async function relayGeneration(
  deps: DifyRelayDeps,
  generation: Generation,
  caller: DifyCaller,
  body: GenerationBody,
  reply: FastifyReply,
  requestedApp: string | undefined,
): Promise<void> {
  const { dify } = deps;
  const conversationId = generation.family === 'chat' && body.conversation_id ? body.conversation_id : undefined;
  const channel = conversationId
    ? dify.appOf((await dify.ownConversation(caller, conversationId)).channel_id, caller.key)
    : dify.pickApp(generation.family, requestedApp, caller.key);
  for (const fileId of fileIdsOf([body.files, body.inputs])) await dify.ownFile(caller, fileId);

  const stream = body.response_mode === 'streaming';
  const upstream: Record<string, unknown> = { inputs: body.inputs ?? {}, response_mode: stream ? 'streaming' : 'blocking', user: DifyService.identity(caller.userId) };
  if (generation.family !== 'workflow' && body.query !== undefined) upstream.query = body.query;
  if (body.files) upstream.files = body.files;
  if (generation.family === 'chat') {
    if (conversationId) upstream.conversation_id = conversationId;
    if (body.auto_generate_name !== undefined) upstream.auto_generate_name = body.auto_generate_name;
    if (body.workflow_id !== undefined) upstream.workflow_id = body.workflow_id;
  }

  const prompt = textOf(body);
  const context: CallContext = {
    requestId: caller.requestId,
    userId: caller.userId,
    keyId: caller.key?.keyId ?? null,
    role: caller.role,
    endpoint: `dify.${generation.endpoint}`,
    model: DifyService.modelOf(channel),
    stream,
    startedAt: performance.now(),
  };
  const worstCase = { inputTokens: countTextTokens(prompt) + countTextTokens(JSON.stringify(body.inputs ?? {})), outputTokens: deps.defaultMaxOutput };
  const call = await admitPriced(deps.billing, caller.key, context, DifyService.priceOf(channel, generation.endpoint, true), worstCase, reply);
  const estimate = (produced: string): Usage => ({ inputTokens: countTextTokens(prompt), outputTokens: countTextTokens(produced) });
  const client = new ClientWatch(reply.raw);
  try {
    let response: Dispatcher.ResponseData;
    try {
      response = await dify.send(channel, { method: 'POST', path: generation.path, body: { json: upstream }, signal: client.signal });
    } catch (error) {
      if (client.aborted) {
        // The client went away before Dify answered: the call was stopped; bill the prompt it read (rule 5).
        await call.settle(estimate(''), 'estimated', { channelId: channel.id, httpStatus: 499, endReason: 'client_disconnect', error: 'client closed the connection' });
      } else {
        await call.cancel({ channelId: channel.id, httpStatus: error instanceof AppError ? error.status : 502, endReason: 'upstream_error', error: (error as Error).message });
      }
      throw error;
    }
    const recorder = new Recorder(dify, caller, channel, generation, body);
    if (stream) await relayStream(deps, generation, call, reply, response, client, recorder, estimate);
    else await relayWhole(call, reply, response, client, recorder, estimate, generation);
  } finally {
    client.dispose();
    await call.release();
  }
}

/** Writes down what a call created, with its owner: the conversation as soon as its id is known, the message at the end. */
class Recorder {
  private conversationSaved = false;
  private taskSaved = false;

  constructor(
    private readonly dify: DifyService,
    readonly caller: DifyCaller,
    readonly channel: Channel,
    private readonly generation: Generation,
    private readonly body: GenerationBody,
  ) {}

  async ids(conversationId: string | undefined, taskId: string | undefined): Promise<void> {
    if (taskId && !this.taskSaved) {
      this.taskSaved = true;
      await this.dify.rememberTask(taskId, { userId: this.caller.userId, channelId: this.channel.id, family: this.generation.family });
    }
    if (conversationId && !this.conversationSaved && this.generation.family === 'chat') {
      this.conversationSaved = true;
      const now = this.dify.now();
      const name = (this.body.query ?? '').trim().slice(0, 50) || 'New conversation';
      await this.dify.records.saveConversation({ id: conversationId, channel_id: this.channel.id, user_id: this.caller.userId, name, created_at: now, updated_at: now, deleted_at: null });
    }
  }

  async message(id: string | undefined, conversationId: string | undefined, taskId: string | undefined, answer: string, status: string): Promise<void> {
    if (!id) return;
    const now = this.dify.now();
    await this.dify.records.saveMessage({
      id,
      kind: this.generation.kind,
      channel_id: this.channel.id,
      user_id: this.caller.userId,
      conversation_id: this.generation.family === 'chat' ? (conversationId ?? null) : null,
      ordinal: newId(now),
      task_id: taskId ?? null,
      query: this.generation.family === 'workflow' ? JSON.stringify(this.body.inputs ?? {}) : (this.body.query ?? ''),
      answer,
      status,
      rating: null,
      created_at: now,
    });
  }
}

interface BlockingAnswer {
  conversation_id?: string;
  message_id?: string;
  id?: string;
  task_id?: string;
  workflow_run_id?: string;
  answer?: string;
  metadata?: { usage?: DifyUsageFields };
  data?: { total_tokens?: unknown; outputs?: unknown; status?: string };
}

async function relayWhole(
  call: AdmittedCall,
  reply: FastifyReply,
  response: Dispatcher.ResponseData,
  client: ClientWatch,
  recorder: Recorder,
  estimate: (produced: string) => Usage,
  generation: Generation,
): Promise<void> {
  // The answer is on its way: let it arrive even if the client leaves now, and bill what it says.
  client.keepUpstream();
  const text = await response.body.text();
  let answer: BlockingAnswer = {};
  try {
    answer = JSON.parse(text) as BlockingAnswer;
  } catch {
    // not JSON: billed by counting, passed on as it came
  }
  const produced = generation.family === 'workflow' ? JSON.stringify(answer.data?.outputs ?? '') : (answer.answer ?? '');
  const tokens = generation.family === 'workflow' ? tokensOf({ total_tokens: answer.data?.total_tokens }) : tokensOf(answer.metadata?.usage);
  await recorder.ids(answer.conversation_id, undefined);
  const outcome: Outcome = { channelId: recorder.channel.id, httpStatus: response.statusCode, endReason: client.gone ? 'client_disconnect' : (answer.data?.status ?? 'stop') };
  await call.settle(tokens ? asUsage(tokens) : estimate(produced), tokens ? 'upstream' : 'estimated', outcome);
  const messageId = generation.family === 'workflow' ? answer.workflow_run_id : (answer.message_id ?? answer.id);
  await recorder.message(messageId, answer.conversation_id, answer.task_id, produced, answer.data?.status === 'failed' ? 'error' : 'normal');
  await reply.status(response.statusCode).type(String(response.headers['content-type'] ?? 'application/json')).send(text);
}

/**
 * A stream: Dify's events pass through as they arrive (pings too). When the client goes away the task
 * is stopped at Dify and the rest of the stream is read for a short while, so the bill is Dify's own
 * count of what it produced; failing that, what was produced is counted.
 */
async function relayStream(
  deps: DifyRelayDeps,
  generation: Generation,
  call: AdmittedCall,
  reply: FastifyReply,
  response: Dispatcher.ResponseData,
  client: ClientWatch,
  recorder: Recorder,
  estimate: (produced: string) => Usage,
): Promise<void> {
  const reader = new DifyStreamReader();
  const channel = recorder.channel;
  const raw = openEventStream(reply);
  // From here the stream is ours to end: the client leaving stops the Dify task, not the connection.
  client.keepUpstream();
  let drainTimer: NodeJS.Timeout | undefined;
  client.onGone(() => {
    if (!reader.taskId) return client.abort();
    const stop = deps.dify.send(channel, { method: 'POST', path: generation.stopPath(reader.taskId), body: { json: { user: DifyService.identity(recorder.caller.userId) } } });
    stop.then((r) => r.body.dump(), () => client.abort()).catch(() => undefined);
    drainTimer = setTimeout(() => client.abort(), deps.stopDrainMs);
  });
  // From the terminal event (message_end, workflow_finished) on, the events wait for the settle and go
  // out with the end of the answer: the client does not see the answer whole before it is billed.
  const closing: Buffer[] = [];
  let failure: string | undefined;
  try {
    for await (const chunk of response.body) {
      reader.push(chunk as Buffer);
      await recorder.ids(reader.conversationId, reader.taskId);
      if (client.gone) continue;
      if (reader.finished) closing.push(chunk as Buffer);
      else await write(raw, chunk as Buffer);
    }
  } catch (error) {
    if (!client.gone) failure = (error as Error).message;
  } finally {
    clearTimeout(drainTimer);
  }

  const disconnected = client.gone;
  const usage = reader.reportedUsage;
  const upstreamFailed = !disconnected && (failure !== undefined || reader.error !== undefined);
  const endReason = disconnected ? 'client_disconnect' : upstreamFailed ? 'upstream_error' : reader.finished ? (reader.workflowStatus ?? 'stop') : 'incomplete';
  const outcome: Outcome = { channelId: channel.id, httpStatus: 200, endReason, error: failure ?? reader.error?.message };
  try {
    if (upstreamFailed && !usage && reader.answer.length === 0) await call.cancel(outcome);
    else await call.settle(usage ? asUsage(usage) : estimate(reader.answer), usage ? 'upstream' : 'estimated', outcome);
    const status = disconnected ? 'stopped' : upstreamFailed || reader.workflowStatus === 'failed' ? 'error' : 'normal';
    const answer = generation.family === 'workflow' && reader.workflowOutputs !== undefined ? JSON.stringify(reader.workflowOutputs) : reader.answer;
    await recorder.message(generation.family === 'workflow' ? reader.workflowRunId : reader.messageId, reader.conversationId, reader.taskId, answer, status);
  } finally {
    // Written in one turn: Node sends them and the end of the chunked answer in one system call.
    if (!client.gone && !raw.destroyed) for (const chunk of closing) raw.write(chunk);
    if (failure !== undefined && !raw.destroyed) {
      // The connection to Dify broke without a terminal event: say so in Dify's own in-band shape.
      const event = { event: 'error', conversation_id: reader.conversationId, message_id: reader.messageId, status: 502, code: 'upstream_error', message: failure };
      await write(raw, `data: ${JSON.stringify(event)}\n\n`);
    }
    if (!raw.destroyed) raw.end();
  }
}

/**
 * A call priced per call only (suggested questions, speech, uploads): held, then charged its base
 * price when `work` succeeds, or nothing when it fails.
 */
export async function meterFlat<T>(
  deps: DifyRelayDeps,
  caller: DifyCaller,
  channel: Channel,
  endpoint: 'audio-to-text' | 'text-to-audio' | 'suggested' | 'files/upload',
  reply: FastifyReply,
  work: () => Promise<T>,
): Promise<T> {
  const context: CallContext = {
    requestId: caller.requestId,
    userId: caller.userId,
    keyId: caller.key?.keyId ?? null,
    role: caller.role,
    endpoint: `dify.${endpoint}`,
    model: DifyService.modelOf(channel),
    stream: false,
    startedAt: performance.now(),
  };
  const none = { inputTokens: 0, outputTokens: 0 };
  const call = await admitPriced(deps.billing, caller.key, context, DifyService.priceOf(channel, endpoint, false), none, reply);
  try {
    const result = await work();
    await call.settle(none, 'upstream', { channelId: channel.id, httpStatus: 200, endReason: 'stop' });
    return result;
  } catch (error) {
    await call.cancel({ channelId: channel.id, httpStatus: error instanceof AppError ? error.status : 502, endReason: 'upstream_error', error: (error as Error).message });
    throw error;
  } finally {
    await call.release();
  }
}
