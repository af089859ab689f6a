import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a copy of a Dify SSE stream as it passes through (dify-api.md §2): the ids the proxy must
 * own (conversation, message, task, workflow run), the answer produced so far, the usage and an
 * in-band error. The bytes themselves go to the client unchanged; nothing here rewrites them.
 */

/** Tokens as Dify reports them (numbers, or decimal strings in some versions). */
export interface DifyUsageFields {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
}

export interface DifyTokens {
  inputTokens: number;
  outputTokens: number;
}

export interface DifyStreamError {
  status: number;
  code: string;
  message: string;
}

/** A block that never ends (no blank line) is not SSE; past this size it is dropped, not kept. */
const MAX_PENDING = 1024 * 1024;

const count = (value: unknown): number => {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

/** Usage of a message (`metadata.usage`), or of a workflow whose only count is `total_tokens` (billed as input). */
export function tokensOf(usage: DifyUsageFields | undefined | null): DifyTokens | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  if (usage.prompt_tokens === undefined && usage.completion_tokens === undefined) {
    return usage.total_tokens === undefined ? undefined : { inputTokens: count(usage.total_tokens), outputTokens: 0 };
  }
  return { inputTokens: count(usage.prompt_tokens), outputTokens: count(usage.completion_tokens) };
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

export class DifyStreamReader {
  conversationId: string | undefined;
  messageId: string | undefined;
  taskId: string | undefined;
  workflowRunId: string | undefined;
  /** The answer as the client has seen it (message / agent_message deltas; message_replace replaces it; workflow text_chunk). */
  answer = '';
  /** From message_end, else from workflow_finished. */
  usage: DifyTokens | undefined;
  workflowUsage: DifyTokens | undefined;
  workflowStatus: string | undefined;
  workflowOutputs: unknown;
  error: DifyStreamError | undefined;
  /** message_end or workflow_finished arrived: the answer is whole. */
  finished = false;
  private pending = '';
  private readonly decoder = new StringDecoder('utf8'); // keeps a character split across chunks

  push(chunk: Uint8Array): void {
    this.pending += this.decoder.write(chunk).replace(/\r\n/g, '\n');
    let end: number;
    while ((end = this.pending.indexOf('\n\n')) >= 0) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      this.read(block);
    }
    if (this.pending.length > MAX_PENDING) this.pending = '';
  }

  /** What the call used: Dify's own count when it gave one. */
  get reportedUsage(): DifyTokens | undefined {
    return this.usage ?? this.workflowUsage;
  }

  private read(block: string): void {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
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
        this.usage = tokensOf(event.metadata?.usage);
        this.finished = true;
        break;
      case 'workflow_finished':
        this.workflowUsage = tokensOf({ total_tokens: event.data?.total_tokens });
        this.workflowStatus = event.data?.status;
        this.workflowOutputs = event.data?.outputs;
        this.finished = true;
        break;
      case 'error':
        this.error = { status: typeof event.status === 'number' ? event.status : 500, code: String(event.code ?? 'internal_server_error'), message: String(event.message ?? '') };
        break;
      default:
        break; // node, ping-like and audio events carry nothing the bill needs
    }
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
