import type { FastifyReply } from 'fastify';
import { newId } from '#core/ids.ts';
import type { DifyChannel } from '#modules/channels/channels.service.ts';
import {
  difyCall,
  difyCallContext,
  type DifyCallDeps,
  type DifyCallRecorder,
  type DifyEndpoint,
} from '#modules/metering/adapters/dify.ts';
import { runFlatCall, runPaidCall } from '#modules/metering/pipeline.ts';
import { DifyService, type DifyCaller } from './dify.service.ts';
import type { DifyMessageKind } from './dify.tables.ts';

export type { DifyCallDeps };

/** The three generation endpoints: where they go, what they are called, what their messages are. */
export interface Generation extends DifyEndpoint {
  kind: DifyMessageKind;
}

export const GENERATIONS = {
  chat: {
    family: 'chat',
    endpoint: 'chat-messages',
    kind: 'chat',
    path: '/chat-messages',
    stopPath: (t: string) => `/chat-messages/${encodeURIComponent(t)}/stop`,
  },
  completion: {
    family: 'completion',
    endpoint: 'completion-messages',
    kind: 'completion',
    path: '/completion-messages',
    stopPath: (t: string) => `/completion-messages/${encodeURIComponent(t)}/stop`,
  },
  workflow: {
    family: 'workflow',
    endpoint: 'workflows/run',
    kind: 'workflow',
    path: '/workflows/run',
    stopPath: (t: string) => `/workflows/tasks/${encodeURIComponent(t)}/stop`,
  },
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

/**
 * Every `upload_file_id` the request refers to, in `files` and in file variables of `inputs`, down to
 * six levels: a walk with a list of its own, never the call stack, over what the client sent.
 */
function fileIdsOf(value: unknown): Set<string> {
  const found = new Set<string>();
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (depth > 6 || typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) for (const child of item) pending.push([child, depth + 1]);
    else
      for (const [name, child] of Object.entries(item)) {
        if (name === 'upload_file_id' && typeof child === 'string') found.add(child);
        else pending.push([child, depth + 1]);
      }
  }
  return found;
}

function textOf(body: GenerationBody): string {
  const inputs = Object.values(body.inputs ?? {}).filter((v): v is string => typeof v === 'string');
  return [body.query ?? '', ...inputs].join('\n');
}

/**
 * POST /api/dify/chat-messages, /completion-messages and /workflows/run: the caller's conversation (or
 * a new one on the best app), Dify called with Tollgate's `user`, the answer relayed (blocking, or
 * streamed event by event) and billed as a paid call (see metering/adapters/dify.ts).
 */
export async function relayGeneration(
  deps: DifyCallDeps,
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
  const upstream: Record<string, unknown> = {
    inputs: body.inputs ?? {},
    response_mode: stream ? 'streaming' : 'blocking',
    user: DifyService.identity(caller.userId),
  };
  if (generation.family !== 'workflow' && body.query !== undefined) upstream.query = body.query;
  if (body.files) upstream.files = body.files;
  if (generation.family === 'chat') {
    if (conversationId) upstream.conversation_id = conversationId;
    if (body.auto_generate_name !== undefined) upstream.auto_generate_name = body.auto_generate_name;
    if (body.workflow_id !== undefined) upstream.workflow_id = body.workflow_id;
  }
  const recorder = new Recorder(dify, caller, channel, generation, body);
  const request = {
    caller,
    channel,
    endpoint: generation,
    upstream,
    prompt: textOf(body),
    inputs: JSON.stringify(body.inputs ?? {}),
    stream,
    recorder,
  };
  await runPaidCall(deps, difyCall(deps, request), reply);
}

/** Writes down what a call created, with its owner: the conversation as soon as its id is known, the message at the end. */
class Recorder implements DifyCallRecorder {
  private conversationSaved = false;
  private taskSaved = false;

  constructor(
    private readonly dify: DifyService,
    readonly caller: DifyCaller,
    readonly channel: DifyChannel,
    private readonly generation: Generation,
    private readonly body: GenerationBody,
  ) {}

  async ids(conversationId: string | undefined, taskId: string | undefined): Promise<void> {
    if (taskId && !this.taskSaved) {
      this.taskSaved = true;
      await this.dify.rememberTask(taskId, {
        userId: this.caller.userId,
        channelId: this.channel.id,
        family: this.generation.family,
      });
    }
    if (conversationId && !this.conversationSaved && this.generation.family === 'chat') {
      this.conversationSaved = true;
      const now = this.dify.now();
      const name = (this.body.query ?? '').trim().slice(0, 50) || 'New conversation';
      await this.dify.records.saveConversation({
        id: conversationId,
        channel_id: this.channel.id,
        user_id: this.caller.userId,
        name,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      });
    }
  }

  async message(
    id: string | undefined,
    conversationId: string | undefined,
    taskId: string | undefined,
    answer: string,
    status: string,
  ): Promise<void> {
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

/**
 * A call priced per call only (suggested questions, speech, uploads): held, then charged its base
 * price when `work` succeeds, or nothing when it fails.
 */
export function meterFlat<T>(
  deps: DifyCallDeps,
  caller: DifyCaller,
  channel: DifyChannel,
  endpoint: 'audio-to-text' | 'text-to-audio' | 'suggested' | 'files/upload',
  reply: FastifyReply,
  work: () => Promise<T>,
): Promise<T> {
  const none = { inputTokens: 0, outputTokens: 0 };
  const terms = {
    context: difyCallContext(caller, channel, endpoint, false),
    key: caller.key,
    price: DifyService.priceOf(channel, endpoint, false),
    worstCase: none,
    expectedTokens: 0,
    overrun: 'capped' as const,
  };
  return runFlatCall(deps, terms, channel.id, reply, work);
}
