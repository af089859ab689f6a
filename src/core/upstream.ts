import { EventEmitter } from 'node:events';
import { AppError } from './errors.ts';
import { Agent, errors as undiciErrors, request, type Dispatcher, type FormData } from 'undici';

/** One pooled, keep-alive HTTP agent for every upstream call. */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

export interface UpstreamTimeouts {
  /** Until the response headers arrive. */
  headersMs: number;
  /** Between two chunks of the body (a stalled stream). */
  bodyMs: number;
}

/**
 * What stops an upstream call: undici takes an EventEmitter with `aborted` as well as an AbortSignal,
 * and this one costs far less to make and to listen to than an AbortController (one per metered call;
 * the controller, its signal and undici's listener on it were ~4 % of a call's CPU).
 */
export class UpstreamAbort extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** The upstream could not be reached or did not answer in time: another channel may do better. */
export class UpstreamUnreachable extends Error {
  override readonly name = 'UpstreamUnreachable';
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** POSTs a JSON body to `baseUrl + path` with the channel's secret. The body stays a stream. */
export async function postJson(
  baseUrl: string,
  path: string,
  secret: string,
  payload: string,
  signal: UpstreamAbort,
  timeouts: UpstreamTimeouts,
): Promise<Dispatcher.ResponseData> {
  try {
    return await request(`${baseUrl}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'application/json' },
      body: payload,
      signal,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    });
  } catch (error) {
    throw unreachable(error, signal);
  }
}

/**
 * A client's JSON, encoded again for the upstream. A body the parser took but that cannot be encoded
 * again (nested too deep for the stack) is the request's fault: 400, never counted against a channel.
 */
export function encodeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    throw new AppError('VALIDATION_FAILED', { detail: 'the body is nested too deeply' });
  }
}

/** A request failed before an answer: the caller's own abort stays as it is, anything else is the upstream's fault. */
function unreachable(error: unknown, signal: UpstreamAbort | undefined): unknown {
  if (signal?.aborted) return error;
  const timedOut =
    error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.ConnectTimeoutError;
  return new UpstreamUnreachable((error as Error).message, timedOut);
}

export interface UpstreamCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** After the base URL, e.g. `/chat-messages`; the query is added from `query`. */
  path: string;
  query?: Record<string, string>;
  /** A JSON body, or a multipart form (its boundary is set by the client). */
  body?: { json: unknown } | { form: FormData };
  signal?: UpstreamAbort;
  timeouts: UpstreamTimeouts;
}

/** Any call to `baseUrl + path` with the channel's secret (the Dify proxy's many endpoints). The body stays a stream. */
export async function sendUpstream(
  baseUrl: string,
  secret: string,
  call: UpstreamCall,
): Promise<Dispatcher.ResponseData> {
  const query =
    call.query && Object.keys(call.query).length > 0 ? `?${new URLSearchParams(call.query).toString()}` : '';
  const headers: Record<string, string> = {
    authorization: `Bearer ${secret}`,
    accept: 'application/json, text/event-stream, */*',
  };
  let body: string | FormData | undefined;
  if (call.body && 'json' in call.body) {
    headers['content-type'] = 'application/json';
    body = encodeJson(call.body.json);
  } else if (call.body) {
    body = call.body.form;
  }
  try {
    return await request(`${baseUrl}${call.path}${query}`, {
      method: call.method,
      dispatcher: agent,
      headers,
      body,
      signal: call.signal,
      headersTimeout: call.timeouts.headersMs,
      bodyTimeout: call.timeouts.bodyMs,
    });
  } catch (error) {
    throw unreachable(error, call.signal);
  }
}

/** GETs `baseUrl + path` (health probes, model lists). */
export async function getJson(
  baseUrl: string,
  path: string,
  secret: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const response = await request(`${baseUrl}${path}`, {
    method: 'GET',
    dispatcher: agent,
    headers: { authorization: `Bearer ${secret}`, accept: 'application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

/**
 * Answers that are the channel's fault, not the request's: retried on another channel and counted
 * against this one. 408/429/5xx are passing trouble; 401/403 mean the channel's own secret or account
 * is refused (a client must never read that as its Tollgate key being wrong). Any other 4xx is the
 * request's fault and goes back to the client.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}
