import { api, ApiError } from './client.ts';
import { currentApiLang } from '@/i18n/index.tsx';

/** One server-sent event: its name (`message` when it has none) and its data lines joined. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Splits a byte stream into server-sent events. Chunks may end anywhere: inside an event, a line, or a
 * UTF-8 character (the decoder keeps the bytes of a split character until the rest arrives).
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** The events completed by `chunk` (none when it ends mid-event). */
  push(chunk: Uint8Array): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }

  /** An event the stream ended in without its blank line. */
  finish(): SseEvent[] {
    this.buffer += this.decoder.decode();
    const event = parseBlock(this.buffer);
    this.buffer = '';
    return event ? [event] : [];
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}

/** What `postStream` does with each event; resolves when the stream ends, or quietly when aborted. */
export interface StreamOptions {
  signal: AbortSignal;
  onEvent: (event: SseEvent) => void;
}

function post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      // The cookie session may change state only with this header (docs/console.md).
      'x-requested-with': 'tollgate-console',
      'accept-language': currentApiLang(),
    },
    credentials: 'same-origin',
    body: JSON.stringify(body),
    signal,
  });
}

async function errorOf(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as { message?: unknown; code?: unknown };
  const message = typeof body.message === 'string' ? body.message : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, message, typeof body.code === 'string' ? body.code : undefined);
}

function aborted(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/**
 * POSTs `body` to `path` with the console session and reads the answer as server-sent events until it
 * ends. A refused request throws its ApiError (a 401 first renews the session once, through the shared
 * client, and is tried again). Aborting `signal` (Stop) ends it quietly: the server bills what was made.
 */
export async function postStream(path: string, body: unknown, { signal, onEvent }: StreamOptions): Promise<void> {
  try {
    let res = await post(path, body, signal);
    if (res.status === 401) {
      // The shared client renews an expired session (or signs out): then the stream is asked again.
      await api('/api/user/profile');
      res = await post(path, body, signal);
    }
    if (!res.ok || !res.body) throw await errorOf(res);
    const parser = new SseParser();
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) onEvent(event);
    }
    for (const event of parser.finish()) onEvent(event);
  } catch (error) {
    if (signal.aborted || aborted(error)) return;
    throw error;
  }
}
