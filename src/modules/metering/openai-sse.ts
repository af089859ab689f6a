import { StringDecoder } from 'node:string_decoder';

/** Raw event bytes a stream keeps before reading them for their text (see SseRelay.payloads). */
const PAYLOAD_BUDGET = 256 * 1024;

/** OpenAI usage as it appears in responses and stream chunks. */
export interface UpstreamUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/**
 * Reads an upstream SSE stream event by event as it passes through: notes the usage (the last
 * non-null `usage` seen), the finish reason, `[DONE]` and in-band errors, and decides which events go
 * on to the client. JSON is parsed only for the few events that need it; the rest pass as they came.
 */
export class SseRelay {
  usage: UpstreamUsage | undefined;
  finishReason: string | undefined;
  sawDone = false;
  upstreamError: string | undefined;
  /** The upstream's in-band error event, held back until the call is settled (then sent as it came). */
  errorEvent: string | undefined;
  /**
   * Data payloads not yet read for their text: kept raw (parsing every event would tax the hot path for
   * the rare call that needs counting), folded into `folded` once they pass PAYLOAD_BUDGET bytes so a
   * long stream holds its text, not every event whole.
   */
  private payloads: string[] = [];
  private payloadBytes = 0;
  private folded = '';
  private buffer = '';
  // StringDecoder, not TextDecoder: it keeps a character split across chunks too, ~6× faster per chunk.
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly forwardUsageChunk: boolean) {}

  /**
   * Feeds raw bytes; returns what to send to the client now (whole events only, none after an error
   * event): `chunk` itself when it is exactly whole events that all go on (the usual case: no
   * encoding the text back into bytes), else the text.
   */
  push(chunk: Uint8Array): string | Uint8Array {
    const carried = this.buffer.length > 0;
    const decoded = this.decoder.write(chunk);
    const text = carried ? this.buffer + decoded : decoded;
    // Events end at a blank line; "\r\n" line ends are rare, so the plain scan is the common one.
    const crlf = text.includes('\r');
    let start = 0;
    // Most events say nothing that matters (see `keep`): those before the first that may go on as
    // they are, unread, and the rest are read one by one.
    if (!crlf && this.upstreamError === undefined) {
      const match = SAYS_SOMETHING.exec(text);
      const last = match === null ? text.lastIndexOf('\n\n') : match.index < 2 ? -1 : text.lastIndexOf('\n\n', match.index - 2);
      start = last === -1 ? 0 : last + 2;
      if (start > 0) this.remember(text.slice(0, start));
      if (match === null) return this.passOn(text, start, carried, chunk);
    }
    let out = '';
    let copied = 0; // text before this was copied to `out`, or dropped
    while (this.upstreamError === undefined) {
      const end = crlf ? eventEnd(text, start) : plainEventEnd(text, start);
      if (end === undefined) break;
      const next = end.at + end.length;
      if (!this.keep(text.slice(start, next), text.slice(start, end.at))) {
        // Dropped (or held back): pass on what came before it, skip it.
        out += text.slice(copied, start);
        copied = next;
      }
      start = next;
    }
    if (copied !== 0) {
      this.buffer = text.slice(start);
      return out + text.slice(copied, start);
    }
    return this.passOn(text, start, carried, chunk);
  }

  /** Keeps `text` from `end` on for the next chunk; returns the whole events before it. */
  private passOn(text: string, end: number, carried: boolean, chunk: Uint8Array): string | Uint8Array {
    this.buffer = text.slice(end);
    // Whole events from the chunk's first byte to its last, and no byte held back by the decoder.
    if (!carried && end === text.length && Buffer.byteLength(text) === chunk.byteLength) return chunk;
    return text.slice(0, end);
  }

  /** What is left when the upstream ends (an unterminated last event). */
  flush(): string {
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    if (this.upstreamError !== undefined) return '';
    return rest.trim().length === 0 || this.keep(rest, rest) ? rest : '';
  }

  /** Reads one event (`body`: without its terminating blank line); false when it must not reach the client now. */
  private keep(event: string, body: string): boolean {
    const data = dataOf(body);
    if (data.length === 0) return true;
    if (data.length < 16 && data.trim() === '[DONE]') {
      this.sawDone = true;
      return true;
    }
    this.remember(body);
    // Only the few events that say something (a usage, a finish reason, an error) are parsed; OpenAI
    // sends `"usage":null` and `"finish_reason":null` on every chunk, which say nothing.
    const mayMatter = valueStart(data, '"usage"') === 123 /* { */ || valueStart(data, '"finish_reason"') === 34 /* " */ || data.includes('"error"');
    if (!mayMatter) return true;
    let parsed: { usage?: UpstreamUsage | null; choices?: Array<{ finish_reason?: string | null }>; error?: { message?: string } };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return true;
    }
    if (parsed.error) {
      this.upstreamError = parsed.error.message ?? 'upstream error';
      this.errorEvent = event;
      return false;
    }
    const finish = parsed.choices?.find((c) => c.finish_reason)?.finish_reason;
    if (finish) this.finishReason = finish;
    if (parsed.usage) {
      this.usage = parsed.usage;
      // The usage-only chunk (`choices: []`) reaches the client only when it asked for usage.
      if (!this.forwardUsageChunk && (parsed.choices?.length ?? 0) === 0) return false;
    }
    return true;
  }

  /** The text the stream produced so far (content and tool-call arguments), for counting. */
  producedText(): string {
    this.fold();
    return this.folded;
  }

  /** Keeps events (one or more, as they came) to be read for their text if it is ever needed. */
  private remember(events: string): void {
    this.payloads.push(events);
    this.payloadBytes += events.length;
    if (this.payloadBytes > PAYLOAD_BUDGET) this.fold();
  }

  private fold(): void {
    let text = '';
    for (const events of this.payloads) {
      for (let start = 0; start < events.length; ) {
        const end = eventEnd(events, start) ?? { at: events.length, length: 0 };
        text += producedBy(dataOf(events.slice(start, end.at)));
        start = end.at + end.length;
      }
    }
    this.folded += text;
    this.payloads = [];
    this.payloadBytes = 0;
  }
}

/**
 * A chunk that may hold an event `keep` must read: a usage object, a finish reason, an error, the
 * end. Whitespace is JSON's and more, so it never misses one; a false match only costs the slower
 * event-by-event reading.
 */
const SAYS_SOMETHING = /"usage"\s*:\s*\{|"finish_reason"\s*:\s*"|"error"|\[DONE\]/;

/** The text (content, tool-call arguments) one event's data produced. */
function producedBy(data: string): string {
  if (data.length === 0 || data.trim() === '[DONE]') return '';
  let text = '';
  try {
    const chunk = JSON.parse(data) as {
      choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> }; text?: string }>;
    };
    for (const choice of chunk.choices ?? []) {
      text += choice.delta?.content ?? choice.text ?? '';
      for (const call of choice.delta?.tool_calls ?? []) text += call.function?.arguments ?? '';
    }
  } catch {
    // a malformed event produced nothing countable
  }
  return text;
}

/** Where the event starting at `from` ends (its blank line), with "\n" line ends only. */
function plainEventEnd(text: string, from: number): { at: number; length: number } | undefined {
  const at = text.indexOf('\n\n', from);
  return at === -1 ? undefined : { at, length: 2 };
}

/** Where the event starting at `from` ends, "\n" or "\r\n" line ends. */
function eventEnd(text: string, from: number): { at: number; length: number } | undefined {
  const lf = text.indexOf('\n\n', from);
  const crlf = text.indexOf('\r\n\r\n', from);
  if (lf === -1 && crlf === -1) return undefined;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

/** The data of an event: its `data:` lines' values joined by "\n" (one line, the usual case, without splitting). */
function dataOf(body: string): string {
  if (body.startsWith('data:') && !body.includes('\n')) return body.slice(body.charCodeAt(5) === 32 ? 6 : 5);
  return body
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
}

/**
 * The first character (as a code) of the value of the last `key` (a quoted JSON key) in `json`, or -1
 * when no such key is there. A JSON string cannot hold an unescaped quote, so a match followed by a
 * colon is a key, never a piece of text. From the end: a chunk's `usage` is its last key and a
 * choice's `finish_reason` the last of the choice, and a search from the start meets every quote of
 * the chunk first (it cost more than the rest of the relay).
 */
function valueStart(json: string, key: string): number {
  for (let at = json.lastIndexOf(key); at !== -1; at = at === 0 ? -1 : json.lastIndexOf(key, at - 1)) {
    let i = at + key.length;
    while (isSpace(json.charCodeAt(i))) i++;
    if (json.charCodeAt(i) !== 58 /* : */) continue;
    i++;
    while (isSpace(json.charCodeAt(i))) i++;
    return json.charCodeAt(i);
  }
  return -1;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}
