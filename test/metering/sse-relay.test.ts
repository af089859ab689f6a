import { describe, expect, it } from 'vitest';
import { OpenAiEvents } from '#modules/metering/adapters/openai-events.ts';
import { SseFramer } from '#modules/metering/sse.ts';

const chunk = (fields: string) => `data: {"id":"c1","object":"chat.completion.chunk",${fields}}\n\n`;
const content = (text: string) =>
  chunk(`"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}],"usage":null`);
const finish = chunk('"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null');
const usage = chunk('"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}');
const done = 'data: [DONE]\n\n';

const text = (piece: string | Uint8Array) => (typeof piece === 'string' ? piece : Buffer.from(piece).toString('utf8'));

/** Feeds `stream` cut into pieces of `size` bytes (so events, and UTF-8 characters, are split anywhere). */
function relay(stream: string, size: number, forwardUsage = false): { out: string; relay: OpenAiEvents } {
  const r = new OpenAiEvents(forwardUsage);
  const framer = new SseFramer(r);
  const bytes = Buffer.from(stream);
  let out = '';
  for (let at = 0; at < bytes.length; at += size) out += text(framer.push(bytes.subarray(at, at + size)));
  out += framer.flush();
  return { out, relay: r };
}

describe('SseFramer with the OpenAI stream reader', () => {
  const stream = content('Héllo, “usage” 🌍') + content(' "usage":{"x":1}') + finish + usage + done;

  it.each([1, 2, 3, 7, 64, 100_000])(
    'passes events on unchanged, reads usage, finish and [DONE], however the bytes are cut (%i)',
    (size) => {
      const { out, relay: r } = relay(stream, size);
      expect(out).toBe(stream.replace(usage, '')); // the usage chunk only goes to a client that asked
      expect(r.usage).toEqual({ inputTokens: 9, outputTokens: 4 });
      expect(r.finishReason).toBe('stop');
      expect(r.sawDone).toBe(true);
      expect(r.producedText()).toBe('Héllo, “usage” 🌍 "usage":{"x":1}');
      expect(relay(stream, size, true).out).toBe(stream);
    },
  );

  it('hands a chunk of whole events that all go on back as the same bytes; anything else as text', () => {
    const reader = new OpenAiEvents(false);
    const r = new SseFramer(reader);
    const whole = Buffer.from(content('Héllo 🌍') + content('again'));
    expect(r.push(whole)).toBe(whole); // passed through: nothing to encode again
    const withUsage = Buffer.from(content('x') + usage);
    expect(r.push(withUsage)).toBe(content('x')); // the usage chunk is dropped: what is left is text
    const split = Buffer.from(content('🌍'));
    const cut = split.indexOf(Buffer.from('🌍')) + 2; // inside the emoji's four bytes
    expect(r.push(split.subarray(0, cut))).toBe('');
    expect(text(r.push(split.subarray(cut)))).toBe(content('🌍')); // the carried start makes it text again
    const trailing = Buffer.concat([Buffer.from(content('y')), split.subarray(0, cut)]);
    expect(r.push(trailing)).toBe(content('y')); // a partial event after whole ones waits for its end
    expect(text(r.push(split.subarray(cut)))).toBe(content('🌍'));
    expect(reader.producedText()).toBe('Héllo 🌍againx🌍y🌍');
  });

  it('reads CRLF line ends, multi-line data, comments and spaced JSON', () => {
    const spaced =
      'data: {"choices": [{"delta": {}, "finish_reason" : "length"}],\r\ndata: "usage" : {"prompt_tokens": 1, "completion_tokens": 2}}\r\n\r\n';
    const input = ': keep-alive\r\n\r\n' + content('a').replaceAll('\n', '\r\n') + spaced + 'data: [DONE]\r\n\r\n';
    for (const size of [1, 5, 1000]) {
      const { out, relay: r } = relay(input, size, true);
      expect(out).toBe(input);
      expect(r.finishReason).toBe('length');
      expect(r.usage).toEqual({ inputTokens: 1, outputTokens: 2 });
      expect(r.sawDone).toBe(true);
    }
  });

  it('holds back an in-band error event and passes nothing after it', () => {
    const error = 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
    const { out, relay: r } = relay(content('partial') + error + content('never') + done, 4);
    expect(out).toBe(content('partial'));
    expect(r.upstreamError).toBe('overloaded');
    expect(r.heldEvent).toBe(error);
    expect(r.sawDone).toBe(false);
  });

  it('relays an unterminated last event at the end, and counts produced text when no usage came', () => {
    const { out, relay: r } = relay(
      content('one') + content('two') + 'data: {"choices":[{"delta":{"content":"three"}}]}',
      10,
    );
    expect(out.endsWith('data: {"choices":[{"delta":{"content":"three"}}]}')).toBe(true);
    expect(r.usage).toBeUndefined();
    expect(r.producedText()).toBe('onetwothree');
  });
});
