import { countTokens as tokenizer } from 'gpt-tokenizer';
import { APIError, APIUserAbortError, InternalServerError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generatedWords } from '#test/fakes/openai.ts';
import { backends } from '#test/helpers/test-app.ts';
import {
  balanceOf,
  eventually,
  expectBilledOnce,
  expectBooksBalanced,
  MODEL,
  newCaller,
  sdk,
  setBalance,
  startGateway,
  usageRows,
  type Gateway,
} from '#test/helpers/gateway.ts';

const PROMPT = 'Say hello to the nice people';
const messages = [{ role: 'user' as const, content: PROMPT }];
const PROMPT_TOKENS = 3 + 4 + tokenizer(PROMPT);
/** What a call with this prompt and a few output tokens costs: 1 + 13 × 10/1000 + output × 20/1000, rounded up (up to 43 output tokens). */
const SHORT_CALL_CREDITS = 2;
const fake = (spec: string) => ({ fake_behavior: spec }) as Record<string, unknown>;

/** Reads an SDK stream to its end or its error: the text that arrived, and what was thrown. */
async function drain(stream: AsyncIterable<ChatCompletionChunk>, stopAfter = Infinity, onStop?: () => void) {
  let text = '';
  let pieces = 0;
  try {
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (!piece) continue;
      text += piece;
      if (++pieces === stopAfter) onStop?.();
    }
    return { text, error: undefined as unknown };
  } catch (error) {
    return { text, error };
  }
}

describe.each(backends())('streams on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    // No rate limits here (the race below is about money), and failures never take the one channel out.
    g = await startGateway(backend, {
      listen: true,
      env: { RATE_LIMIT_USER_RPM: '0', RATE_LIMIT_USER_CONCURRENCY: '0', CHANNEL_FAILURE_THRESHOLD: '1000' },
    });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  /** A streamed chat as raw HTTP (the bytes as they come, not the SDK's parse), the fake told `behavior`. */
  const rawStream = (secret: string, behavior: string) =>
    fetch(`${g.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages, stream: true, ...fake(behavior) }),
    });

  it('a client that leaves mid-stream stops the upstream and pays the prompt plus what was produced', async () => {
    const c = await newCaller(g);
    const controller = new AbortController();
    const stream = await sdk(g, c.secret).chat.completions.create(
      { model: MODEL, messages, stream: true, ...fake('words=400; chunk-delay=25') },
      { signal: controller.signal },
    );
    const { text, error } = await drain(stream, 6, () => controller.abort());
    // The SDK ends an aborted stream quietly (or throws its abort error).
    if (error !== undefined) expect(error).toBeInstanceOf(APIUserAbortError);
    const words = text.trim().split(/\s+/).length;
    expect(words).toBeGreaterThanOrEqual(6);
    expect(text).toBe(generatedWords(words));
    await g.fake.until((f) => f.stats.streamsAborted >= 1);
    expect(g.fake.stats.streamsCompleted).toBe(0);
    const row = await eventually(async () => (await usageRows(g, c.user.id))[0], 'the usage record');
    // Tollgate counts what the upstream had sent it: what the client read, and at most an event or two more.
    expect(row.output_tokens).toBeGreaterThanOrEqual(tokenizer(text));
    expect(row.output_tokens).toBeLessThanOrEqual(tokenizer(generatedWords(words + 2)));
    expect(row.output_tokens).toBeLessThan(tokenizer(generatedWords(400)));
    await eventually(async () => (await g.t.app.services.credits.openHolds(c.user.id)) === 0, 'the hold closed');
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: SHORT_CALL_CREDITS,
      inputTokens: PROMPT_TOKENS,
      endReason: 'client_disconnect',
      usageSource: 'estimated',
      status: 'ok',
    });
  });

  it('a client that leaves before the upstream answered stops it and pays the prompt alone', async () => {
    const c = await newCaller(g);
    const controller = new AbortController();
    const pending = sdk(g, c.secret)
      .chat.completions.create({ model: MODEL, messages, ...fake('delay=30000') }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await g.fake.until((f) => f.stats.requests >= 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await g.fake.until((f) => f.stats.clientAborts >= 1);
    await eventually(
      async () =>
        (await usageRows(g, c.user.id)).length === 1 && (await g.t.app.services.credits.openHolds(c.user.id)) === 0,
      'the call settled',
    );
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: SHORT_CALL_CREDITS,
      inputTokens: PROMPT_TOKENS,
      outputTokens: 0,
      endReason: 'client_disconnect',
      usageSource: 'estimated',
    });
  });

  it('an upstream that fails before any output is not charged (HTTP 500 on every channel)', async () => {
    const c = await newCaller(g);
    g.fake.always('status=500');
    const error = await sdk(g, c.secret)
      .chat.completions.create({ model: MODEL, messages, stream: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 503 });
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 0,
      status: 'error',
      endReason: 'upstream_error',
      usageSource: 'none',
    });
  });

  it('an upstream that drops the stream before any output is not charged, and the client is told', async () => {
    const c = await newCaller(g);
    const stream = await sdk(g, c.secret).chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      ...fake('reset-after=0'),
    });
    const { text, error } = await drain(stream);
    expect(text).toBe('');
    expect(error).toBeInstanceOf(APIError);
    await expectBilledOnce(g, c.user.id, 1000, { credits: 0, status: 'error', endReason: 'upstream_error' });
  });

  it.each(['reset-after=4', 'reset-after=4; rst', 'error-after=4'])(
    'a stream cut after some output (%s) bills what was produced and tells the client',
    async (spec) => {
      const c = await newCaller(g);
      const stream = await sdk(g, c.secret).chat.completions.create({
        model: MODEL,
        messages,
        stream: true,
        ...fake(`words=50; ${spec}`),
      });
      const { text, error } = await drain(stream);
      // Event 1 is the role chunk, then one word per event.
      expect(text).toBe(generatedWords(3));
      expect(error).toBeInstanceOf(APIError);
      const output = tokenizer(text);
      await expectBilledOnce(g, c.user.id, 1000, {
        credits: SHORT_CALL_CREDITS,
        inputTokens: PROMPT_TOKENS,
        outputTokens: output,
        endReason: 'upstream_error',
        usageSource: 'estimated',
      });
    },
  );

  it('a malformed event passes through and the call still settles on the upstream usage', async () => {
    const c = await newCaller(g);
    const res = await rawStream(c.secret, 'garbage-after=3; usage=100,100');
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('data: {malformed');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage":{');
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, endReason: 'stop', usageSource: 'upstream' });
  });

  it('a stream running past the hold TTL keeps its hold (renewed, never swept) and is billed once; then it is let go', async () => {
    const c = await newCaller(g);
    const credits = g.t.app.services.credits;
    const stream = await sdk(g, c.secret).chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      ...fake('words=6; chunk-delay=150; usage=100,100'),
    });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    for (let i = 0; i < 4; i++) {
      g.t.clock.advance((g.t.config.CREDIT_HOLD_TTL * 1000) / 2);
      expect(await credits.renewKeptHolds()).toBeGreaterThanOrEqual(1);
      await credits.sweepExpiredHolds();
      expect(await credits.openHolds(c.user.id)).toBe(1);
    }
    while (!(await chunks.next()).done);
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, endReason: 'stop', usageSource: 'upstream' });
    expect(await credits.renewKeptHolds()).toBe(0);
  });

  it('the client reads [DONE] only once its call is billed', async () => {
    const c = await newCaller(g);
    const res = await rawStream(c.secret, 'usage=100,100');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('data: [DONE]')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain('data: [DONE]');
    // Read at once, before the rest of the answer: the charge and the usage record are there already.
    expect(await usageRows(g, c.user.id)).toHaveLength(1);
    expect(await balanceOf(g, c.user.id)).toBe(1000 - 4);
    while (!(await reader.read()).done);
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, endReason: 'stop', usageSource: 'upstream' });
  });

  it('a stream without [DONE] still ends cleanly for the client and settles', async () => {
    const c = await newCaller(g);
    const { text, error } = await drain(
      await sdk(g, c.secret).chat.completions.create({
        model: MODEL,
        messages,
        stream: true,
        ...fake('no-done; usage=100,100'),
      }),
    );
    expect(error).toBeUndefined();
    expect(text).toBe(`Echo: ${PROMPT}`);
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, endReason: 'stop', usageSource: 'upstream' });
  });

  it('50 concurrent streams racing 30 credits never spend more than there is', async () => {
    const c = await newCaller(g);
    await setBalance(g, c.user.id, 30);
    // Each call holds 1 + ~0.1 + 500 × 20/1K ≈ 12 credits (only two fit at once) and costs 4 (1 + 1 + 2).
    const client = sdk(g, c.secret);
    const outcomeOf = (error: unknown) =>
      error instanceof APIError ? `${error.status} ${String(error.code)}` : String(error);
    const one = async () => {
      try {
        const stream = await client.chat.completions.create({
          model: MODEL,
          messages,
          stream: true,
          max_tokens: 500,
          ...fake('usage=100,100; text=a b c d e; chunk-delay=5'),
        });
        const { text, error } = await drain(stream);
        if (error !== undefined) return `mid-stream: ${outcomeOf(error)}`;
        return text === 'a b c d e' ? 'ok' : `short: ${text}`;
      } catch (error) {
        return outcomeOf(error);
      }
    };
    const outcomes = await Promise.all(Array.from({ length: 50 }, one));
    const ok = outcomes.filter((o) => o === 'ok').length;
    const refused = outcomes.filter((o) => o === '402 insufficient_quota').length;
    expect(ok + refused, outcomes.join(', ')).toBe(50);
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(refused).toBeGreaterThanOrEqual(1);
    const balance = await expectBooksBalanced(g, c.user.id);
    expect(balance).toBe(30 - 4 * ok);
    expect(balance).toBeGreaterThanOrEqual(0);
    const rows = await usageRows(g, c.user.id);
    expect(rows).toHaveLength(ok);
    expect(rows.every((r) => r.credits === 4 && r.usage_source === 'upstream')).toBe(true);
    expect(g.fake.stats.streamsStarted).toBe(ok);
    expect(await balanceOf(g, c.user.id)).toBe(balance);
  });
});
