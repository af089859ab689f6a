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
  private readonly decoder = new TextDecoder();

  constructor(private readonly forwardUsageChunk: boolean) {}

  /** Feeds raw bytes; returns the text to send to the client now (whole events only, none after an error event). */
  push(chunk: Uint8Array): string {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    let out = '';
    while (this.upstreamError === undefined) {
      const end = this.eventEnd();
      if (end === undefined) return out;
      const event = this.buffer.slice(0, end.at + end.length);
      this.buffer = this.buffer.slice(end.at + end.length);
      out += this.handle(event);
    }
    return out;
  }

  /** What is left when the upstream ends (an unterminated last event). */
  flush(): string {
    const rest = this.buffer + this.decoder.decode();
    this.buffer = '';
    if (this.upstreamError !== undefined) return '';
    return rest.trim().length > 0 ? this.handle(rest) : rest;
  }

  private eventEnd(): { at: number; length: number } | undefined {
    const lf = this.buffer.indexOf('\n\n');
    const crlf = this.buffer.indexOf('\r\n\r\n');
    if (lf === -1 && crlf === -1) return undefined;
    if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, length: 4 };
    return { at: lf, length: 2 };
  }

  private handle(event: string): string {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data.length === 0) return event;
    if (data.trim() === '[DONE]') {
      this.sawDone = true;
      return event;
    }
    this.payloads.push(data);
    this.payloadBytes += data.length;
    if (this.payloadBytes > PAYLOAD_BUDGET) this.fold();
    const mayMatter = data.includes('"usage"') || data.includes('"finish_reason":"') || data.includes('"error"');
    if (!mayMatter) return event;
    let parsed: { usage?: UpstreamUsage | null; choices?: Array<{ finish_reason?: string | null }>; error?: { message?: string } };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return event;
    }
    if (parsed.error) {
      this.upstreamError = parsed.error.message ?? 'upstream error';
      this.errorEvent = event;
      return '';
    }
    const finish = parsed.choices?.find((c) => c.finish_reason)?.finish_reason;
    if (finish) this.finishReason = finish;
    if (parsed.usage) {
      this.usage = parsed.usage;
      // The usage-only chunk (`choices: []`) reaches the client only when it asked for usage.
      if (!this.forwardUsageChunk && (parsed.choices?.length ?? 0) === 0) return '';
    }
    return event;
  }

  /** The text the stream produced so far (content and tool-call arguments), for counting. */
  producedText(): string {
    this.fold();
    return this.folded;
  }

  private fold(): void {
    let text = '';
    for (const payload of this.payloads) {
      try {
        const chunk = JSON.parse(payload) as {
          choices?: Array<{ delta?: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> }; text?: string }>;
        };
        for (const choice of chunk.choices ?? []) {
          text += choice.delta?.content ?? choice.text ?? '';
          for (const call of choice.delta?.tool_calls ?? []) text += call.function?.arguments ?? '';
        }
      } catch {
        // a malformed event produced nothing countable
      }
    }
    this.folded += text;
    this.payloads = [];
    this.payloadBytes = 0;
  }
}
