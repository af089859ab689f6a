import type { Usage } from '#modules/pricing/price.ts';
import type { StreamReading } from '../paid-call.ts';
import { dataOf } from '../sse.ts';
import { reportedUsage } from '../usage.ts';

/** Tokens as Dify reports them (numbers, or decimal strings in some versions). */
export interface DifyUsageFields {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
}

export interface DifyStreamError {
  status: number;
  code: string;
  message: string;
}

/**
 * Usage of a message (`metadata.usage`), or of a workflow whose only count is `total_tokens` (billed
 * as input); undefined when Dify reported none, or not as counts.
 */
export function difyUsage(usage: DifyUsageFields | undefined | null): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  if (usage.prompt_tokens == null && usage.completion_tokens == null)
    return reportedUsage(usage.total_tokens, undefined);
  return reportedUsage(usage.prompt_tokens, usage.completion_tokens);
}

interface DifyEvent {
  event?: string;
  conversation_id?: string;
  message_id?: string;
  task_id?: string;
  workflow_run_id?: string;
  id?: string;
  answer?: string;
  text?: string;
  status?: number;
  code?: string;
  message?: string;
  metadata?: { usage?: DifyUsageFields };
  data?: { total_tokens?: unknown; status?: string; outputs?: unknown; text?: string; error?: string | null };
}

/**
 * Reads a Dify stream as it passes through (dify-api.md §2): the ids the proxy must own
 * (conversation, message, task, workflow run), the answer produced so far, the usage and an in-band
 * error. Every event goes on to the client as it came; nothing here rewrites them.
 */
export class DifyEvents implements StreamReading {
  /** Dify's error event is passed on and the stream read to its end. */
  readonly halted = false;
  conversationId: string | undefined;
  messageId: string | undefined;
  taskId: string | undefined;
  workflowRunId: string | undefined;
  /** The answer as the client has seen it (message / agent_message deltas; message_replace replaces it; workflow text_chunk). */
  answer = '';
  /** From message_end. */
  messageUsage: Usage | undefined;
  workflowUsage: Usage | undefined;
  workflowStatus: string | undefined;
  workflowOutputs: unknown;
  error: DifyStreamError | undefined;
  /** message_end or workflow_finished arrived: the answer is whole. */
  finished = false;
  /** What the call used: Dify's own count when it gave one (message_end, else workflow_finished). */
  get usage(): Usage | undefined {
    return this.messageUsage ?? this.workflowUsage;
  }

  get upstreamError(): string | undefined {
    return this.error?.message;
  }

  producedText(): string {
    return this.answer;
  }

  endReason(): string {
    return this.finished ? (this.workflowStatus ?? 'stop') : 'incomplete';
  }

  read(_event: string, body: string): boolean {
    this.readData(dataOf(body).trimStart());
    return true;
  }

  private readData(data: string): void {
    if (data.length === 0) return; // `event: ping` and comments carry nothing
    let event: DifyEvent;
    try {
      event = JSON.parse(data) as DifyEvent;
    } catch {
      return; // a malformed event passes to the client as it came; it tells us nothing
    }
    if (typeof event !== 'object' || event === null) return;
    this.conversationId ??= nonEmpty(event.conversation_id);
    this.messageId ??= nonEmpty(event.message_id);
    this.taskId ??= nonEmpty(event.task_id);
    this.workflowRunId ??= nonEmpty(event.workflow_run_id);
    switch (event.event) {
      case 'message':
      case 'agent_message':
        if (typeof event.answer === 'string') this.answer += event.answer;
        break;
      case 'message_replace':
        if (typeof event.answer === 'string') this.answer = event.answer;
        break;
      case 'text_chunk':
        if (typeof event.data?.text === 'string') this.answer += event.data.text;
        break;
      case 'message_end':
        this.messageUsage = difyUsage(event.metadata?.usage);
        this.finished = true;
        break;
      case 'workflow_finished':
        this.workflowUsage = difyUsage({ total_tokens: event.data?.total_tokens });
        this.workflowStatus = event.data?.status;
        this.workflowOutputs = event.data?.outputs;
        this.finished = true;
        break;
      case 'error':
        this.error = {
          status: typeof event.status === 'number' ? event.status : 500,
          code: String(event.code ?? 'internal_server_error'),
          message: String(event.message ?? ''),
        };
        break;
      default:
        break; // node, ping-like and audio events carry nothing the bill needs
    }
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
