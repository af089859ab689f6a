import { randomBytes } from 'node:crypto';
import type { Tally } from '#test/reliability/tally.ts';

/** What came back: an answer (any status), or nothing (the connection failed, or no answer in time). */
export type Answer =
  | { kind: 'answer'; requestId: string; status: number; headers: Headers; text: string; ms: number; startedAt: number }
  | { kind: 'timeout' | 'network'; requestId: string; message: string; text: string; ms: number; startedAt: number };

export interface SendOptions {
  body?: unknown;
  /** Bearer token: a session JWT or an API key. */
  token?: string;
  headers?: Record<string, string>;
  /** Called with the body text received so far, as it arrives (streams). */
  onText?: (textSoFar: string) => void;
  timeoutMs?: number;
}

let sequence = 0;

/** A request id the suite chooses, so a call can be found in usage_records even when its answer was lost. */
export function newRequestId(): string {
  sequence += 1;
  return `rel-${sequence}-${randomBytes(4).toString('hex')}`;
}

/**
 * Real HTTP to a listening Tollgate, counted in the tally. Every call has a deadline: a request that
 * outlives it is a hang, reported as `timeout` (what the outage scenarios must never see).
 */
export class Http {
  constructor(
    private readonly tally: Tally,
    private readonly defaultTimeoutMs = 20_000,
  ) {}

  async send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const requestId = newRequestId();
    const startedAt = Date.now();
    const headers: Record<string, string> = { 'x-request-id': requestId, ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    this.tally.request();
    const signal = AbortSignal.timeout(options.timeoutMs ?? this.defaultTimeoutMs);
    let text = '';
    try {
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload, signal });
      const decoder = new TextDecoder();
      if (response.body) {
        for await (const chunk of response.body) {
          text += decoder.decode(chunk, { stream: true });
          options.onText?.(text);
        }
      }
      text += decoder.decode();
      return {
        kind: 'answer',
        requestId,
        status: response.status,
        headers: response.headers,
        text,
        ms: Date.now() - startedAt,
        startedAt,
      };
    } catch (error) {
      const timedOut = signal.aborted;
      const message =
        error instanceof Error
          ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`
          : String(error);
      return {
        kind: timedOut ? 'timeout' : 'network',
        requestId,
        message,
        text,
        ms: Date.now() - startedAt,
        startedAt,
      };
    }
  }

  /** `send`, expecting a JSON answer with `status`; throws otherwise (for set-up steps, not for checks). */
  async expectJson<T>(
    baseUrl: string,
    method: string,
    path: string,
    status: number,
    options: SendOptions = {},
  ): Promise<T> {
    const answer = await this.send(baseUrl, method, path, options);
    if (answer.kind !== 'answer' || answer.status !== status) {
      throw new Error(
        `${method} ${path}: expected ${status}, got ${answer.kind === 'answer' ? `${answer.status} ${answer.text.slice(0, 300)}` : `${answer.kind} ${answer.message}`}`,
      );
    }
    return (answer.text ? JSON.parse(answer.text) : undefined) as T;
  }
}

/** The parsed JSON body of an answer, or undefined when it is not JSON. */
export function jsonOf(answer: Answer): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A "clear error": an error answer whose body says what went wrong in one of the surfaces' shapes
 * (Tollgate's envelope, OpenAI's `{error:{message}}`, FastAPI's `{detail}`), never an empty or HTML page.
 */
export function isClearError(answer: Answer): boolean {
  if (answer.kind !== 'answer') return false;
  const body = jsonOf(answer) as { message?: unknown; error?: { message?: unknown }; detail?: unknown } | undefined;
  if (!body || typeof body !== 'object') return false;
  const message = body.message ?? body.error?.message ?? body.detail;
  return typeof message === 'string' && message.length > 0;
}
