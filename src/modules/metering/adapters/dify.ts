import type { DifyChannel } from '#modules/channels/channels.service.ts';
import type { DifyPricedEndpoint } from '#modules/channels/dify-app.ts';
import { DifyService, type DifyCaller } from '#modules/dify/dify.service.ts';
import type { Usage } from '#modules/pricing/price.ts';
import type { AdmissionDeps, CallTerms } from '../admission.ts';
import { BillingSession } from '../bill.ts';
import type { CallContext } from '../call.ts';
import type { PaidCall, WholeReading } from '../paid-call.ts';
import { countTextTokens } from '../tokens.ts';
import { DifyEvents, difyUsage, type DifyUsageFields } from './dify-events.ts';

/** One of Dify's generation endpoints: what it is called, where it goes, how its task is stopped. */
export interface DifyEndpoint {
  family: 'chat' | 'completion' | 'workflow';
  endpoint: Extract<DifyPricedEndpoint, 'chat-messages' | 'completion-messages' | 'workflows/run'>;
  path: string;
  stopPath: (taskId: string) => string;
}

/** Writes down what a call created, with its owner (modules/dify keeps these records). */
export interface DifyCallRecorder {
  /** The ids the call has revealed so far (its conversation, its task). */
  ids(conversationId: string | undefined, taskId: string | undefined): Promise<void>;
  /** The message the call produced, at its end. */
  message(
    id: string | undefined,
    conversationId: string | undefined,
    taskId: string | undefined,
    answer: string,
    status: string,
  ): Promise<void>;
}

export interface DifyCallDeps extends AdmissionDeps {
  dify: DifyService;
  /** After the client left and the task was stopped, how long the rest of the stream (and its usage) is awaited. */
  stopDrainMs: number;
}

/** A generation call as the proxy sends it to Dify. */
export interface DifyRequest {
  caller: DifyCaller;
  channel: DifyChannel;
  endpoint: DifyEndpoint;
  /** The body Dify is sent (with Tollgate's `user`). */
  upstream: Record<string, unknown>;
  /** The text the call is billed for reading, when Dify reports no usage. */
  prompt: string;
  /** The inputs as Dify reads them, for the tokens-per-minute estimate. */
  inputs: string;
  stream: boolean;
  recorder: DifyCallRecorder;
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

interface DifyWhole extends WholeReading {
  answer: BlockingAnswer;
}

/** Output tokens a Dify call is expected to write, for tokens-per-minute limits (Dify cannot be bounded). */
const TYPICAL_ANSWER_TOKENS = 1024;

/** The context of a proxy caller's call to a Dify endpoint (`dify.<endpoint>` in the usage records). */
export function difyCallContext(
  caller: DifyCaller,
  channel: DifyChannel,
  endpoint: string,
  stream: boolean,
): CallContext {
  return {
    requestId: caller.requestId,
    userId: caller.userId,
    keyId: caller.key?.keyId ?? null,
    role: caller.role,
    endpoint: `dify.${endpoint}`,
    model: DifyService.modelOf(channel),
    stream,
    startedAt: performance.now(),
  };
}

/**
 * A Dify chat, completion or workflow call as a paid call (docs/dify.md). Dify cannot be stopped at a
 * budget, so the app's most a call may cost is held (or what the caller has, if less, down to what
 * the prompt alone costs), and a call that costs more is charged in full, its overrun recorded.
 * Billed from Dify's usage, or counted when it has none. A client that leaves a stream has its task
 * stopped at Dify, and the rest of the stream is read for a short while, so the bill is Dify's own count.
 */
export function difyCall(deps: DifyCallDeps, request: DifyRequest): PaidCall<DifyEvents, DifyWhole> {
  const { caller, channel, endpoint, recorder } = request;
  const context = difyCallContext(caller, channel, endpoint.endpoint, request.stream);
  const price = DifyService.priceOf(channel, endpoint.endpoint, true);
  const promptTokens = countTextTokens(request.prompt);
  const readTokens = promptTokens + countTextTokens(request.inputs);
  const least = BillingSession.cost(deps, context, price, { inputTokens: promptTokens, outputTokens: 0 });
  const terms: CallTerms = {
    context,
    key: caller.key,
    price,
    worstCase: { inputTokens: readTokens, outputTokens: TYPICAL_ANSWER_TOKENS },
    expectedTokens: readTokens + TYPICAL_ANSWER_TOKENS,
    holdCredits: { most: Math.max(channel.dify.prices.maxCallCost, least), least },
    overrun: 'charged',
  };
  const workflow = endpoint.family === 'workflow';
  return {
    terms,
    send: async (signal) => ({
      response: await deps.dify.send(channel, {
        method: 'POST',
        path: endpoint.path,
        body: { json: request.upstream },
        signal,
      }),
      channelId: channel.id,
    }),
    estimate: (produced: string): Usage => ({ inputTokens: promptTokens, outputTokens: countTextTokens(produced) }),
    readWhole(text) {
      let answer: BlockingAnswer = {};
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null) answer = value;
      } catch {
        // not JSON: billed by counting, passed on as it came
      }
      const produced = workflow
        ? JSON.stringify(answer.data?.outputs ?? '')
        : typeof answer.answer === 'string'
          ? answer.answer
          : '';
      const usage = workflow
        ? difyUsage({ total_tokens: answer.data?.total_tokens })
        : difyUsage(answer.metadata?.usage);
      return { usage, produced, endReason: answer.data?.status ?? 'stop', answer };
    },
    async afterWhole({ answer, produced }) {
      await recorder.ids(answer.conversation_id, undefined);
      const messageId = workflow ? answer.workflow_run_id : (answer.message_id ?? answer.id);
      await recorder.message(
        messageId,
        answer.conversation_id,
        answer.task_id,
        produced,
        answer.data?.status === 'failed' ? 'error' : 'normal',
      );
    },
    streamed: request.stream ? streamedDify(deps, request) : undefined,
  };
}

function streamedDify(
  deps: DifyCallDeps,
  request: DifyRequest,
): NonNullable<PaidCall<DifyEvents, DifyWhole>['streamed']> {
  const { caller, channel, endpoint, recorder } = request;
  let drainTimer: NodeJS.Timeout | undefined;
  return {
    read: () => new DifyEvents(),
    onStart(client, events) {
      // From here the stream is ours to end: the client leaving stops the Dify task, not the connection.
      client.keepUpstream();
      client.onGone(() => {
        if (!events.taskId) return client.abort();
        const stop = deps.dify.send(channel, {
          method: 'POST',
          path: endpoint.stopPath(events.taskId),
          body: { json: { user: DifyService.identity(caller.userId) } },
        });
        stop
          .then(
            (r) => r.body.dump(),
            () => client.abort(),
          )
          .catch(() => undefined);
        drainTimer = setTimeout(() => client.abort(), deps.stopDrainMs);
      });
    },
    onProgress: (events) => recorder.ids(events.conversationId, events.taskId),
    async after(events, { disconnected, upstreamFailed }) {
      clearTimeout(drainTimer);
      const status = disconnected
        ? 'stopped'
        : upstreamFailed || events.workflowStatus === 'failed'
          ? 'error'
          : 'normal';
      const workflow = endpoint.family === 'workflow';
      const answer =
        workflow && events.workflowOutputs !== undefined ? JSON.stringify(events.workflowOutputs) : events.answer;
      await recorder.message(
        workflow ? events.workflowRunId : events.messageId,
        events.conversationId,
        events.taskId,
        answer,
        status,
      );
    },
    // The connection to Dify broke without a terminal event: say so in Dify's own in-band shape.
    brokenEvent: (events, message) =>
      `data: ${JSON.stringify({ event: 'error', conversation_id: events.conversationId, message_id: events.messageId, status: 502, code: 'upstream_error', message })}\n\n`,
  };
}
