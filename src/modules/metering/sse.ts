import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { FastifyReply } from 'fastify';

/**
 * Server-sent events, as every streamed upstream (OpenAI, Dify, …) sends them: the one framing layer
 * under every stream relay. The bytes go on to the client as they came; an `EventReader` of the
 * upstream's kind reads the events that may tell something (usage, the end, an error) and may keep
 * one from the client. Events end at a blank line; `data:` lines carry the payload.
 */
export interface EventReader {
  /**
   * A chunk whose events all pass unread up to the first match: the events before it can tell
   * nothing (they are handed to `skipped`). Undefined: every event is read.
   */
  readonly mayMatter?: RegExp;
  /** Whole events (as they came) that passed unread. */
  skipped?(events: string): void;
  /** Reads one event (`body`: without its blank line); false when it must not reach the client now. */
  read(event: string, body: string): boolean;
  /** True once an event ended the answer (an in-band error): nothing after it is read or passed on. */
  readonly halted: boolean;
}

/** A partial event past this size is not SSE: it is passed on unread rather than kept. */
const MAX_PENDING = 1024 * 1024;

/** Splits a stream's bytes into events for its reader and says what goes on to the client. */
export class SseFramer {
  private buffer = '';
  // StringDecoder, not TextDecoder: it keeps a character split across chunks too, ~6× faster per chunk.
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly reader: EventReader) {}

  /**
   * Feeds raw bytes; returns what to send to the client now (whole events only, none once halted):
   * `chunk` itself when it is exactly whole events that all go on (the usual case: no encoding the
   * text back into bytes), else the text.
   */
  push(chunk: Uint8Array): string | Uint8Array {
    if (this.reader.halted) return '';
    const carried = this.buffer.length > 0;
    const decoded = this.decoder.write(chunk);
    const text = carried ? this.buffer + decoded : decoded;
    // "\r\n" line ends are rare, so the plain scan is the common one.
    const crlf = text.includes('\r');
    let start = 0;
    // The events before the first that may matter go on as they are, unread; the rest are read one by one.
    const mayMatter = this.reader.mayMatter;
    if (!crlf && mayMatter) {
      const match = mayMatter.exec(text);
      const last =
        match === null ? text.lastIndexOf('\n\n') : match.index < 2 ? -1 : text.lastIndexOf('\n\n', match.index - 2);
      start = last === -1 ? 0 : last + 2;
      if (start > 0) this.reader.skipped?.(text.slice(0, start));
      if (match === null) return this.passOn(text, start, carried, chunk);
    }
    let out = '';
    let copied = 0; // text before this was copied to `out`, or dropped
    while (!this.reader.halted) {
      const end = crlf ? eventEnd(text, start) : plainEventEnd(text, start);
      if (end === undefined) break;
      const next = end.at + end.length;
      if (!this.reader.read(text.slice(start, next), text.slice(start, end.at))) {
        // Dropped (or held back): pass on what came before it, skip it.
        out += text.slice(copied, start);
        copied = next;
      }
      start = next;
    }
    if (this.reader.halted) {
      this.buffer = '';
      return out + text.slice(copied, start);
    }
    if (copied !== 0) {
      this.buffer = text.slice(start);
      return out + text.slice(copied, start);
    }
    return this.passOn(text, start, carried, chunk);
  }

  /** What is left when the upstream ends (an unterminated last event). */
  flush(): string {
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    if (this.reader.halted) return '';
    return rest.trim().length === 0 || this.reader.read(rest, rest) ? rest : '';
  }

  /** Keeps `text` from `end` on for the next chunk; returns the whole events before it. */
  private passOn(text: string, end: number, carried: boolean, chunk: Uint8Array): string | Uint8Array {
    if (text.length - end > MAX_PENDING) end = text.length; // never ends: not an event, passed on unread
    this.buffer = text.slice(end);
    // Whole events from the chunk's first byte to its last, and no byte held back by the decoder.
    if (!carried && end === text.length && Buffer.byteLength(text) === chunk.byteLength) return chunk;
    return text.slice(0, end);
  }
}

/** Where the event starting at `from` ends (its blank line), with "\n" line ends only. */
function plainEventEnd(text: string, from: number): { at: number; length: number } | undefined {
  const at = text.indexOf('\n\n', from);
  return at === -1 ? undefined : { at, length: 2 };
}

/** Where the event starting at `from` ends, "\n" or "\r\n" line ends. */
export function eventEnd(text: string, from: number): { at: number; length: number } | undefined {
  const lf = text.indexOf('\n\n', from);
  const crlf = text.indexOf('\r\n\r\n', from);
  if (lf === -1 && crlf === -1) return undefined;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

/** The data of an event: its `data:` lines' values joined by "\n" (one line, the usual case, without splitting). */
export function dataOf(body: string): string {
  if (body.startsWith('data:') && !body.includes('\n')) return body.slice(body.charCodeAt(5) === 32 ? 6 : 5);
  return body
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
}

/** Each event's data in `events` (whole events, as they came), in order. */
export function eachData(events: string, visit: (data: string) => void): void {
  for (let start = 0; start < events.length;) {
    const end = eventEnd(events, start) ?? { at: events.length, length: 0 };
    visit(dataOf(events.slice(start, end.at)));
    start = end.at + end.length;
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
export async function writeToClient(raw: ServerResponse, text: string | Uint8Array): Promise<void> {
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
