/**
 * The generation endpoints (dify-api.md §3): POST /chat-messages, /completion-messages and
 * /workflows/run, blocking or streaming, with the conversation / message / workflow-run records
 * they leave behind.
 */
import { randomUUID } from 'node:crypto';
import {
  answerText,
  completionSource,
  contentInputs,
  promptTokensOf,
  splitTokens,
  usageOf,
  type Inputs,
} from './content.ts';
import { isObject, isUuid, json, type Outcome, type RouteContext } from './context.ts';
import { difyErrors, inBandError, validationError, type InBandError } from './errors.ts';
import { metadataFor, partialAnswer, scriptFor, usageFor, workflowResult, type Generation } from './events.ts';
import {
  nowSeconds,
  type FakeDifyEndUser,
  type FakeDifyMessage,
  type FakeDifyMessageFile,
  type FakeDifyWorkflowRun,
} from './store.ts';
import type { StreamEnding, StreamScript } from './stream.ts';

/** How long the auto-generated conversation name is (the fake's stand-in for Dify's title LLM call). */
export const NAME_LENGTH = 20;

type Payload = Record<string, unknown>;

/** The fields every generation payload shares: inputs (required object), response_mode, files. */
function commonFields(model: string, body: Payload): { inputs: Inputs; streaming: boolean; files: unknown[] } {
  if (!('inputs' in body)) throw validationError(model, 'inputs', 'Field required [type=missing]');
  if (!isObject(body.inputs))
    throw validationError(model, 'inputs', 'Input should be a valid dictionary [type=dict_type]');
  const mode = body.response_mode;
  if (mode !== undefined && mode !== null && mode !== 'blocking' && mode !== 'streaming') {
    throw validationError(model, 'response_mode', "Input should be 'blocking' or 'streaming' [type=literal_error]");
  }
  if (body.files !== undefined && body.files !== null && !Array.isArray(body.files))
    throw validationError(model, 'files', 'Input should be a valid list [type=list_type]');
  return {
    inputs: body.inputs,
    streaming: mode === 'streaming',
    files: Array.isArray(body.files) ? (body.files as unknown[]) : [],
  };
}

function stringField(model: string, body: Payload, name: string, required: boolean): string {
  const value = body[name];
  if (value === undefined && !required) return '';
  if (value === undefined) throw validationError(model, name, 'Field required [type=missing]');
  if (typeof value !== 'string')
    throw validationError(model, name, 'Input should be a valid string [type=string_type]');
  return value;
}

/** `local_file` entries must name a file this end user uploaded to this app. */
function messageFiles(ctx: RouteContext, user: FakeDifyEndUser, files: unknown[]): FakeDifyMessageFile[] {
  return files.map((file) => {
    const entry = isObject(file) ? file : {};
    const method = typeof entry.transfer_method === 'string' ? entry.transfer_method : 'remote_url';
    const type = typeof entry.type === 'string' ? entry.type : 'image';
    if (method === 'local_file') {
      const upload = typeof entry.upload_file_id === 'string' ? ctx.store.uploads.get(entry.upload_file_id) : undefined;
      if (!upload || upload.appKey !== ctx.app.key || upload.endUserId !== user.id)
        throw difyErrors.invalidParam('Invalid upload file');
      return {
        id: randomUUID(),
        filename: upload.name,
        type,
        url: null,
        mime_type: upload.mimeType,
        size: upload.size,
        transfer_method: method,
        belongs_to: 'user',
        upload_file_id: upload.id,
      };
    }
    const url = typeof entry.url === 'string' ? entry.url : null;
    return {
      id: randomUUID(),
      filename: url?.split('/').pop() ?? 'file',
      type,
      url,
      mime_type: '',
      size: -1,
      transfer_method: method,
      belongs_to: 'user',
      upload_file_id: null,
    };
  });
}

interface Started {
  g: Generation;
  message: FakeDifyMessage | undefined;
  run: FakeDifyWorkflowRun | undefined;
}

/** The generation and its records; `source` is what the answer echoes. */
function start(
  ctx: RouteContext,
  user: FakeDifyEndUser,
  inputs: Inputs,
  query: string,
  source: string,
  conversationId: string | null,
  files: FakeDifyMessageFile[],
): Started {
  const { app, behavior, store } = ctx;
  const answer = answerText(behavior, source);
  const g: Generation = {
    app,
    behavior,
    taskId: randomUUID(),
    messageId: randomUUID(),
    conversationId,
    workflowRunId: app.mode === 'workflow' || app.mode === 'advanced-chat' ? randomUUID() : null,
    endUserId: user.id,
    user: user.sessionId,
    createdAt: nowSeconds(),
    inputs,
    pieces: splitTokens(answer),
    promptTokens: promptTokensOf(query, inputs),
  };
  let message: FakeDifyMessage | undefined;
  if (app.mode !== 'workflow') {
    const previous = conversationId === null ? undefined : store.messagesIn(conversationId).at(-1);
    message = store.addMessage({
      id: g.messageId,
      appKey: app.key,
      conversationId,
      endUserId: user.id,
      user: user.sessionId,
      parentMessageId: previous?.id ?? null,
      taskId: g.taskId,
      inputs,
      query,
      answer: '',
      status: 'normal',
      error: null,
      agentThought: app.mode === 'agent-chat' ? { id: randomUUID(), thought: '' } : null,
      files,
      feedback: null,
      promptTokens: g.promptTokens,
      completionTokens: 0,
      totalPrice: '0',
      latency: 0,
    });
  }
  let run: FakeDifyWorkflowRun | undefined;
  if (g.workflowRunId !== null) {
    run = {
      id: g.workflowRunId,
      appKey: app.key,
      workflowId: app.workflowId,
      taskId: g.taskId,
      endUserId: user.id,
      status: 'running',
      inputs,
      outputs: {},
      error: null,
      totalTokens: 0,
      totalSteps: 0,
      createdAt: g.createdAt,
      finishedAt: null,
      elapsedTime: 0,
    };
    store.runs.set(run.id, run);
  }
  return { g, message, run };
}

/** Writes how the generation ended into its message, conversation and run. */
function settle(
  ctx: RouteContext,
  { g, message, run }: Started,
  ending: StreamEnding,
  produced: number,
  error?: InBandError,
): void {
  const usage = usageFor(g, produced) ?? usageOf(g.promptTokens, produced);
  const replaced = g.behavior.replace !== undefined && (ending === 'completed' || ending === 'cut');
  const answer = replaced ? g.behavior.replace! : partialAnswer(g, produced);
  if (message) {
    Object.assign(message, {
      answer,
      status: ending === 'failed' ? 'error' : 'normal',
      error: error?.message ?? null,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalPrice: usage.total_price,
      latency: usage.latency,
    });
    if (message.agentThought) message.agentThought.thought = partialAnswer(g, produced);
    const conversation =
      message.conversationId === null ? undefined : ctx.store.conversations.get(message.conversationId);
    if (conversation) ctx.store.touch(conversation);
  }
  if (run) {
    const succeeded = ending === 'completed' || ending === 'cut';
    Object.assign(run, {
      status: ending === 'failed' ? 'failed' : succeeded ? 'succeeded' : 'stopped',
      outputs: ending === 'failed' ? {} : { text: answer },
      error: error?.message ?? (succeeded ? null : 'Stopped by user.'),
      totalTokens: usage.total_tokens,
      totalSteps: succeeded ? 3 : 2,
      finishedAt: nowSeconds(),
      elapsedTime: usage.latency,
    });
  }
}

/** A stream, or the blocking answer built by `blockingBody`. */
function respond(ctx: RouteContext, started: Started, streaming: boolean, blockingBody: () => unknown): Outcome {
  const { g } = started;
  if (streaming) {
    const events = scriptFor(g);
    const script: StreamScript = {
      taskId: g.taskId,
      appKey: g.app.key,
      ownerId: g.app.mode === 'workflow' ? undefined : g.endUserId,
      ...events,
      settle: (ending, produced, error) => settle(ctx, started, ending, produced, error),
    };
    return { kind: 'stream', script };
  }
  if (ctx.behavior.errorAfter !== undefined) {
    const error = inBandError(ctx.behavior.code, ctx.behavior.message);
    settle(ctx, started, 'failed', Math.min(ctx.behavior.errorAfter, g.pieces.length), error);
    // A workflow reports its failure in a 200 body; chat and completion apps raise it.
    if (g.app.mode === 'workflow')
      return json({
        task_id: g.taskId,
        workflow_run_id: g.workflowRunId,
        data: workflowResult(g, 'failed', error.message),
      });
    throw difyErrors.coded(error.code, error.message);
  }
  settle(ctx, started, 'completed', g.pieces.length);
  return json(blockingBody());
}

function blockingMessage(started: Started): Record<string, unknown> {
  const { g } = started;
  return {
    event: 'message',
    task_id: g.taskId,
    id: g.messageId,
    message_id: g.messageId,
    ...(g.conversationId === null ? {} : { conversation_id: g.conversationId }),
    mode: g.app.mode,
    answer: started.message!.answer,
    metadata: metadataFor(g, usageFor(g, g.pieces.length)),
    created_at: g.createdAt,
  };
}

export function chatMessages(ctx: RouteContext): Outcome {
  const model = 'ChatRequestPayload';
  const { inputs, streaming, files } = commonFields(model, ctx.body);
  const query = stringField(model, ctx.body, 'query', true);
  const rawId = ctx.body.conversation_id;
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string')
    throw validationError(model, 'conversation_id', 'Input should be a valid string [type=string_type]');
  const conversationId = typeof rawId === 'string' ? rawId.trim() : '';
  if (conversationId !== '' && !isUuid(conversationId))
    throw validationError(
      model,
      'conversation_id',
      'Value error, conversation_id must be a valid UUID [type=value_error]',
    );
  const autoName = ctx.body.auto_generate_name;
  if (autoName !== undefined && typeof autoName !== 'boolean')
    throw validationError(model, 'auto_generate_name', 'Input should be a valid boolean [type=bool_type]');
  if (ctx.app.mode === 'agent-chat' && !streaming)
    throw difyErrors.invalidParam('Agent Chat App does not support blocking mode');

  const user = ctx.endUser();
  let conversation =
    conversationId === '' ? undefined : ctx.store.conversation(ctx.app.key, user.id, conversationId.toLowerCase());
  if (conversationId !== '' && !conversation) throw difyErrors.notFound('Conversation Not Exists.');
  const attached = messageFiles(ctx, user, files);
  if (!conversation) {
    conversation = ctx.store.createConversation(ctx.app, user, inputs);
    if (autoName !== false) conversation.name = query.slice(0, NAME_LENGTH);
  }
  const started = start(ctx, user, conversation.inputs, query, query, conversation.id, attached);
  return respond(ctx, started, streaming, () => blockingMessage(started));
}

export function completionMessages(ctx: RouteContext): Outcome {
  const model = 'CompletionRequestPayload';
  const { inputs, streaming, files } = commonFields(model, ctx.body);
  const query = stringField(model, ctx.body, 'query', false);
  const user = ctx.endUser();
  const started = start(
    ctx,
    user,
    inputs,
    query,
    completionSource(query, inputs),
    null,
    messageFiles(ctx, user, files),
  );
  return respond(ctx, started, streaming, () => blockingMessage(started));
}

export function runWorkflow(ctx: RouteContext): Outcome {
  const { inputs, streaming } = commonFields('WorkflowRunPayload', ctx.body);
  const started = start(ctx, ctx.endUser(), inputs, '', JSON.stringify(contentInputs(inputs)), null, []);
  const { g } = started;
  return respond(ctx, started, streaming, () => ({
    task_id: g.taskId,
    workflow_run_id: g.workflowRunId,
    data: workflowResult(g, 'succeeded', null),
  }));
}
