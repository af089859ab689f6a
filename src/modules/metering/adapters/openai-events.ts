import type { Usage } from '#modules/pricing/price.ts';
import type { StreamReading } from '../paid-call.ts';
import { eachData, dataOf } from '../sse.ts';
import { reportedUsage } from '../usage.ts';

/** Raw event bytes a stream keeps before reading them for their text (see OpenAiEvents.payloads). */
const PAYLOAD_BUDGET = 256 * 1024;

/** OpenAI usage as it appears in answers and stream chunks (a compatible upstream may send anything). */
export interface UpstreamUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
}

/** The usage an OpenAI answer or chunk reported, when its counts are real counts. */
export function openAiUsage(usage: UpstreamUsage | null | undefined): Usage | undefined {
  return usage && typeof usage === 'object' ? reportedUsage(usage.prompt_tokens, usage.completion_tokens) : undefined;
}

/**
 * Reads an OpenAI stream (chat or legacy completions) as it passes through: notes the usage (the
 * last usable `usage` seen), the finish reason, `[DONE]` and an in-band error, and keeps the usage
 * chunk from a client that did not ask for it. JSON is parsed only for the few events that need it.
 */
export class OpenAiEvents implements StreamReading {
  readonly mayMatter = SAYS_SOMETHING;
  usage: Usage | undefined;
  finishReason: string | undefined;
  sawDone = false;
  upstreamError: string | undefined;
  /** The upstream's in-band error event, held back until the call is settled (then sent as it came). */
  heldEvent: string | undefined;
  /**
   * Data payloads not yet read for their text: kept raw (parsing every event would tax the hot path for
   * the rare call that needs counting), folded into `folded` once they pass PAYLOAD_BUDGET bytes so a
   * long stream holds its text, not every event whole.
   */
  private payloads: string[] = [];
  private payloadBytes = 0;
  private folded = '';

  constructor(private readonly forwardUsageChunk: boolean) {}

  get halted(): boolean {
    return this.upstreamError !== undefined;
  }

  /** The answer is whole: `[DONE]` came. */
  get finished(): boolean {
    return this.sawDone;
  }

  endReason(): string {
    return this.finishReason ?? (this.sawDone ? 'stop' : 'incomplete');
  }

  skipped(events: string): void {
    this.remember(events);
  }

  read(event: string, body: string): boolean {
    const data = dataOf(body);
    if (data.length === 0) return true;
    if (data.length < 16 && data.trim() === '[DONE]') {
      this.sawDone = true;
      return true;
    }
    this.remember(body);
    // Only the few events that say something (a usage, a finish reason, an error) are parsed; OpenAI
    // sends `"usage":null` and `"finish_reason":null` on every chunk, which say nothing.
    const mayMatter =
      valueStart(data, '"usage"') === 123 /* { */ ||
      valueStart(data, '"finish_reason"') === 34 /* " */ ||
      data.includes('"error"');
    if (!mayMatter) return true;
    let parsed: {
      usage?: UpstreamUsage | null;
      choices?: Array<{ finish_reason?: string | null }>;
      error?: { message?: string };
    };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return true;
    }
    if (parsed.error) {
      this.upstreamError = typeof parsed.error.message === 'string' ? parsed.error.message : 'upstream error';
      this.heldEvent = event;
      return false;
    }
    const finish = Array.isArray(parsed.choices)
      ? parsed.choices.find((c) => c?.finish_reason)?.finish_reason
      : undefined;
    if (typeof finish === 'string') this.finishReason = finish;
    if (parsed.usage) {
      this.usage = openAiUsage(parsed.usage) ?? this.usage;
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
    for (const events of this.payloads) eachData(events, (data) => (text += producedBy(data)));
    this.folded += text;
    this.payloads = [];
    this.payloadBytes = 0;
  }
}

/**
 * A chunk that may hold an event `read` must parse: a usage object, a finish reason, an error, the
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
      choices?: Array<{
        delta?: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> };
        text?: string;
      }>;
    };
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      const piece = choice?.delta?.content ?? choice?.text;
      if (typeof piece === 'string') text += piece;
      for (const call of Array.isArray(choice?.delta?.tool_calls) ? choice.delta.tool_calls : []) {
        if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
      }
    }
  } catch {
    // a malformed event produced nothing countable
  }
  return text;
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
