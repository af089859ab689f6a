/**
 * The stream relay alone: `SseFramer` with the OpenAI reader reading a typical upstream stream (role chunk, content chunks,
 * finish chunk, usage chunk, [DONE]; `"usage":null` on every chunk, as OpenAI sends with
 * include_usage), fed the way sockets deliver it (one event per chunk, or the whole stream at once).
 *   npx tsx bench/sse.ts
 */
import { OpenAiEvents } from '#modules/metering/adapters/openai-events.ts';
import { SseFramer } from '#modules/metering/sse.ts';

const ROUNDS = Number(process.env.SSE_ROUNDS ?? 20_000);
const head =
  '{"id":"chatcmpl-3ab81f5533c7494392f3749d9b759","object":"chat.completion.chunk","created":1795318981,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_fake0001"';
const events = [
  `data: ${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
  ...'Echo: Say hello to the benchmark in a few words please'
    .split(' ')
    .map(
      (word) =>
        `data: ${head},"choices":[{"index":0,"delta":{"content":" ${word}"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`,
    ),
  `data: ${head},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n`,
  `data: ${head},"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":11,"total_tokens":20}}\n\n`,
  'data: [DONE]\n\n',
].map((e) => Buffer.from(e));
const whole = Buffer.concat(events);

function run(label: string, chunks: Buffer[]): void {
  let out = 0;
  for (let i = 0; i < ROUNDS / 10; i++) new SseFramer(new OpenAiEvents(false)).push(whole); // warm-up
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const relay = new OpenAiEvents(i % 2 === 0);
    const framer = new SseFramer(relay);
    for (const chunk of chunks) out += framer.push(chunk).length;
    out += framer.flush().length;
    if (relay.usage?.outputTokens !== 11 || relay.finishReason !== 'stop' || !relay.sawDone)
      throw new Error('relay missed the usage, the finish or [DONE]');
  }
  const us = ((performance.now() - started) * 1000) / ROUNDS;
  console.log(`${label}: ${us.toFixed(1)} µs per stream of ${events.length} events (${out} bytes relayed)`);
}

run('one event per chunk', events);
run('whole stream in one chunk', [whole]);
