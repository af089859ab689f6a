import OpenAI, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import type { Completion } from 'openai/resources/completions';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { countTokens, FakeOpenAI, OPENAI_MESSAGES } from '#test/fakes/openai.ts';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

const client = (options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
  new OpenAI({ baseURL: fake.url, apiKey: 'sk-test-0123456789abcdef', maxRetries: 0, logLevel: 'off', ...options });
const user = (content: string) => [{ role: 'user' as const, content }];
const PROMPT = 'Say hello to the nice people';
const ECHO = `Echo: ${PROMPT}`;
const behave = (spec: string) => ({ headers: { 'x-fake-behavior': spec } });

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}
const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
const contentChunks = (chunks: ChatCompletionChunk[]) => chunks.filter((c) => c.choices[0]?.delta.content);

function streamChat(spec = '', extra: { include_usage?: boolean; signal?: AbortSignal } = {}) {
  return client().chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: user(PROMPT),
      stream: true,
      ...(extra.include_usage ? { stream_options: { include_usage: true } } : {}),
    },
    { headers: { 'x-fake-behavior': spec }, ...(extra.signal ? { signal: extra.signal } : {}) },
  );
}

/** Drains an SDK stream, returning the chunks read and what was thrown. */
async function drain(
  stream: AsyncIterable<ChatCompletionChunk>,
): Promise<{ chunks: ChatCompletionChunk[]; error: unknown }> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

const wire = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`${fake.url}${path}`, {
    method: init.method ?? 'POST',
    headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });

describe('chat completions', () => {
  it('answers a ChatCompletion with consistent usage, OpenAI headers, and records the request', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: user(PROMPT),
      temperature: 0.2,
      a_future_field: { x: 1 },
    } as ChatCompletionCreateParamsNonStreaming;
    const { data, response, request_id } = await client().chat.completions.create(params).withResponse();
    expect(data).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: ECHO, refusal: null } }],
    });
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.usage).toMatchObject({
      prompt_tokens: countTokens(PROMPT),
      completion_tokens: countTokens(ECHO),
      total_tokens: countTokens(PROMPT) + countTokens(ECHO),
    });
    expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(Number(response.headers.get('openai-processing-ms'))).toBeGreaterThanOrEqual(0);
    for (const name of [
      'limit-requests',
      'limit-tokens',
      'remaining-requests',
      'remaining-tokens',
      'reset-requests',
      'reset-tokens',
    ])
      expect(response.headers.get(`x-ratelimit-${name}`)).toBeTruthy();
    const recorded = fake.lastRequest('/chat/completions')!;
    expect(recorded).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { a_future_field: { x: 1 }, temperature: 0.2 },
    });
    expect(recorded.headers).toMatchObject({
      authorization: 'Bearer sk-test-0123456789abcdef',
      'x-stainless-lang': 'js',
      'x-stainless-retry-count': '0',
    });
  });

  it('streams a role delta, one token per chunk, a finish chunk, and no usage without include_usage', async () => {
    const chunks = await collect(await streamChat());
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(contentOf(chunks)).toBe(ECHO);
    expect(contentChunks(chunks)).toHaveLength(countTokens(ECHO));
    expect(chunks.at(-1)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length === 1 && !('usage' in c))).toBe(
      true,
    );
    expect(fake.stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 1, streamsAborted: 0 });
  });

  it('with include_usage: usage null on every chunk, then a choices:[] usage chunk, then [DONE] on the wire', async () => {
    const chunks = await collect(await streamChat('', { include_usage: true }));
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      prompt_tokens: countTokens(PROMPT),
      completion_tokens: countTokens(ECHO),
      total_tokens: countTokens(PROMPT) + countTokens(ECHO),
    });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const res = await wire('/chat/completions', {
      body: { model: 'gpt-4o-mini', messages: user('hi'), stream: true, stream_options: { include_usage: true } },
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    const text = await res.text();
    expect(
      text.endsWith(
        '"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\ndata: [DONE]\n\n',
      ),
    ).toBe(true);
    expect(
      text
        .split('\n\n')
        .filter(Boolean)
        .every((event) => event.startsWith('data: ')),
    ).toBe(true);
  });

  it('satisfies the chat.completions.stream() helper', async () => {
    const stream = client().chat.completions.stream({ model: 'gpt-4o', messages: user(PROMPT) });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]).toMatchObject({ finish_reason: 'stop', message: { role: 'assistant', content: ECHO } });
  });

  it('cuts the reply at max_tokens / max_completion_tokens with finish_reason length', async () => {
    const a = await client().chat.completions.create({ model: 'gpt-4o-mini', messages: user(PROMPT), max_tokens: 3 });
    expect(a.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Echo: Say hello' } });
    expect(a.usage?.completion_tokens).toBe(3);
    const chunks = await collect(
      await client().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: user(PROMPT),
        max_completion_tokens: 2,
        stream: true,
      }),
    );
    expect(contentOf(chunks)).toBe('Echo: Say');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('length');
  });

  it('takes text, chunks and exact usage (zeros too) from a header, the body field, next() and always()', async () => {
    const c = client();
    const stream = await c.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('x'), stream: true, stream_options: { include_usage: true } },
      behave('text=a%3Bb c d; chunks=3; usage=0,0'),
    );
    const chunks = await collect(stream);
    expect(contentChunks(chunks).map((ch) => ch.choices[0]!.delta.content)).toEqual(['a;', 'b c', ' d']);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

    const viaBody = await c.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: user('x'),
      fake_behavior: 'text=from the body; usage=7,5,99',
    } as ChatCompletionCreateParamsNonStreaming);
    expect(viaBody.choices[0]!.message.content).toBe('from the body');
    expect(viaBody.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 99 });

    fake.always({ text: 'global' });
    fake.next('text=queued', 2);
    const texts: (string | null)[] = [];
    for (let i = 0; i < 3; i++)
      texts.push(
        (await c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })).choices[0]!.message.content,
      );
    expect(texts).toEqual(['queued', 'queued', 'global']);
    const overridden = await c.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user('x') },
      behave('text=header wins'),
    );
    expect(overridden.choices[0]!.message.content).toBe('header wins');
  });

  it('can leave usage out entirely, or put it on the last content chunk or the finish chunk', async () => {
    const none = await client().chat.completions.create(
      { model: 'gpt-4o-mini', messages: user(PROMPT) },
      behave('usage=none'),
    );
    expect(none.usage).toBeUndefined();
    const noneStream = await collect(await streamChat('usage=none', { include_usage: true }));
    expect(noneStream.some((c) => c.usage)).toBe(false);
    expect(noneStream.at(-1)!.choices).toHaveLength(1);

    const onContent = await collect(await streamChat('usage-in=last-content; usage=10,4'));
    const withUsage = onContent.filter((c) => c.usage);
    expect(withUsage).toHaveLength(1);
    expect(withUsage[0]!.choices[0]!.delta.content).toBe(' people');
    expect(withUsage[0]!.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });
    expect(onContent.every((c) => c.choices.length === 1)).toBe(true);

    const onFinish = await collect(await streamChat('usage-in=finish', { include_usage: true }));
    expect(onFinish.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(onFinish.at(-1)!.usage?.completion_tokens).toBe(countTokens(ECHO));
  });

  it('streams a very long output', async () => {
    const chunks = await collect(await streamChat('words=3000', { include_usage: true }));
    expect(contentChunks(chunks)).toHaveLength(3000);
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(3000);
  });
});

describe('tool calls', () => {
  const tools: ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: {
          type: 'object',
          properties: {
            city: { type: 'string' },
            unit: { type: 'string', enum: ['c', 'f'] },
            days: { type: 'integer' },
          },
        },
      },
    },
  ];
  const messages = user('Weather in Paris?');

  it('answers a tool call, non-stream and streamed as fragments', async () => {
    const a = await client().chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
    expect(a.choices[0]!.finish_reason).toBe('tool_calls');
    const call = a.choices[0]!.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(call.id).toMatch(/^call_/);
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Weather in Paris?', unit: 'c', days: 1 });

    const chunks = await collect(
      await client().chat.completions.create({ model: 'gpt-4o-mini', messages, tools, stream: true }),
    );
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(fragments.length).toBeGreaterThan(2);
    expect(fragments.map((f) => f.function?.arguments ?? '').join('')).toBe(call.function.arguments);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
    const final = await client()
      .chat.completions.stream({ model: 'gpt-4o-mini', messages, tools })
      .finalChatCompletion();
    expect(final.choices[0]!.message.tool_calls?.[0]).toMatchObject({
      function: { name: 'get_weather', arguments: call.function.arguments },
    });
  });

  it('answers with text after a tool result or with tool_choice none', async () => {
    const after = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      tools,
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(after.choices[0]!.finish_reason).toBe('stop');
    const none = await client().chat.completions.create({ model: 'gpt-4o-mini', messages, tools, tool_choice: 'none' });
    expect(none.choices[0]!.message.content).toBe('Echo: Weather in Paris?');
  });
});

describe('completions, embeddings, images, models', () => {
  it('answers legacy completions, stream and not, with max_tokens 16 by default', async () => {
    const a = await client().completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: PROMPT });
    expect(a).toMatchObject({
      object: 'text_completion',
      choices: [{ index: 0, text: ECHO, finish_reason: 'stop' }],
      usage: { prompt_tokens: countTokens(PROMPT), completion_tokens: countTokens(ECHO) },
    });
    const long = await client().completions.create(
      { model: 'gpt-3.5-turbo-instruct', prompt: 'x' },
      behave('words=40'),
    );
    expect(long.choices[0]).toMatchObject({ finish_reason: 'length' });
    expect(long.usage?.completion_tokens).toBe(16);
    const chunks: Completion[] = [];
    for await (const chunk of await client().completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: PROMPT,
      stream: true,
      stream_options: { include_usage: true },
    }))
      chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(ECHO);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      object: 'text_completion',
      choices: [],
      usage: { completion_tokens: countTokens(ECHO) },
    });
  });

  it('answers embeddings as floats and as base64 float32 (the SDK default), for string and string[] inputs', async () => {
    const floats = await client().embeddings.create({
      model: 'text-embedding-3-small',
      input: ['one two', 'three'],
      encoding_format: 'float',
    });
    expect(floats).toMatchObject({
      object: 'list',
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(floats.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 1536],
      ['embedding', 1, 1536],
    ]);
    const decoded = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'one two' });
    expect(fake.lastRequest('/embeddings')!.body).toMatchObject({ encoding_format: 'base64' });
    expect(decoded.data[0]!.embedding).toHaveLength(1536);
    expect(Array.from(decoded.data[0]!.embedding)).toEqual(floats.data[0]!.embedding);
    const small = await client().embeddings.create({
      model: 'text-embedding-3-large',
      input: 'x',
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(small.data[0]!.embedding).toHaveLength(256);
    expect(Math.hypot(...small.data[0]!.embedding)).toBeCloseTo(1, 5);
  });

  it('generates images: dall-e urls that serve a PNG, b64_json, gpt-image-1 with usage', async () => {
    const urls = await client().images.generate({ model: 'dall-e-2', prompt: 'a cat', n: 2 });
    expect(urls.data).toHaveLength(2);
    expect(urls.created).toBeGreaterThan(0);
    const png = await fetch(urls.data![0]!.url!);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const b64 = await client().images.generate({ model: 'dall-e-3', prompt: 'a cat', response_format: 'b64_json' });
    expect(b64.data![0]).toMatchObject({ revised_prompt: 'a cat', b64_json: expect.any(String) });
    const gptImage = await client().images.generate({ model: 'gpt-image-1', prompt: 'a red cat', quality: 'low' });
    expect(gptImage.data![0]!.b64_json).toBeTruthy();
    expect(gptImage.usage).toMatchObject({ input_tokens: 3, output_tokens: 272, total_tokens: 275 });
  });

  it('lists and retrieves models', async () => {
    const ids = [];
    for await (const model of client().models.list()) ids.push(model.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'gpt-4o-mini',
        'gpt-4o',
        'text-embedding-3-small',
        'dall-e-3',
        'gpt-image-1',
        'gpt-3.5-turbo-instruct',
      ]),
    );
    expect(await client().models.retrieve('gpt-4o')).toMatchObject({
      id: 'gpt-4o',
      object: 'model',
      owned_by: 'system',
    });
    await expect(client().models.retrieve('gpt-9')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('errors', () => {
  it('401 without a key, and 401 invalid_api_key with the key masked', async () => {
    const res = await wire('/chat/completions', { body: {}, headers: { authorization: '' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: OPENAI_MESSAGES.noKey, type: 'invalid_request_error', param: null, code: null },
    });
    fake.apiKeys = new Set(['sk-right']);
    const error = await client({ apiKey: 'sk-wrong-key-1234567890' })
      .models.list()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'invalid_request_error',
      requestID: expect.stringMatching(/^req_/),
    });
    expect((error as Error).message).toContain('Incorrect API key provided: sk-wro*************7890.');
    fake.apiKeys = undefined;
  });

  it('404 model_not_found, 400 for missing fields and for a bad behaviour spec', async () => {
    const c = client();
    await expect(c.chat.completions.create({ model: 'gpt-9', messages: user('x') })).rejects.toSatisfy(
      (e) =>
        e instanceof NotFoundError &&
        e.code === 'model_not_found' &&
        e.message.includes('The model `gpt-9` does not exist'),
    );
    await expect(
      c.chat.completions.create({ model: 'gpt-4o' } as ChatCompletionCreateParamsNonStreaming),
    ).rejects.toSatisfy((e) => e instanceof BadRequestError && e.param === 'messages');
    await expect(c.models.list(behave('stauts=500'))).rejects.toSatisfy(
      (e) => e instanceof BadRequestError && e.message.includes('unknown behavior "stauts"'),
    );
    const res = await wire('/chat/completions', { body: '{"model":' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { message: OPENAI_MESSAGES.badJson, type: 'invalid_request_error' },
    });
    expect((await wire('/nothing', { method: 'GET' })).status).toBe(404);
    expect((await wire('/models', { method: 'POST', body: {} })).status).toBe(405);
  });

  it('429 rate_limit_exceeded with retry-after, which the SDK honours', async () => {
    const error = await client()
      .models.list(behave('status=429'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
    expect((error as RateLimitError).headers.get('retry-after')).toBe('1');

    const sleeps = vi.spyOn(globalThis, 'setTimeout');
    fake.clearRequests();
    fake.next('status=429; retry-after=1', { path: '/chat/completions' });
    const ok = await client({ maxRetries: 2 }).chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
    expect(ok.choices[0]!.message.content).toBe('Echo: hi');
    expect(fake.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
    expect(sleeps.mock.calls.some(([, ms]) => ms === 1000)).toBe(true);
  });

  it('forced 401, 429 insufficient_quota, 500, 502 (HTML) and 503 as the SDK classes them', async () => {
    const quota = await client()
      .models.list(behave('status=429; code=insufficient_quota'))
      .catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(RateLimitError);
    expect(quota).toMatchObject({ code: 'insufficient_quota', type: 'insufficient_quota' });
    expect((quota as RateLimitError).headers.get('retry-after')).toBeNull();
    const forced401 = await client()
      .models.list(behave('status=401'))
      .catch((e: unknown) => e);
    expect(forced401).toBeInstanceOf(AuthenticationError);
    expect((forced401 as Error).message).toContain('Incorrect API key provided: sk-tes**************cdef.');
    for (const status of [500, 502, 503]) {
      const error = await client()
        .chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }, behave(`status=${status}`))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InternalServerError);
      expect((error as InternalServerError).status).toBe(status);
    }
  });

  it('fails the next N requests to a path only (retries and failover)', async () => {
    fake.next('status=500', { times: 2, path: '/chat/completions' });
    await client().models.list();
    const c = client();
    await expect(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })).rejects.toBeInstanceOf(
      InternalServerError,
    );
    await expect(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })).rejects.toBeInstanceOf(
      InternalServerError,
    );
    await expect(c.chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') })).resolves.toBeTruthy();
  });
});

describe('stream faults and disconnects', () => {
  it('an in-band error event mid-stream makes the SDK throw APIError', async () => {
    const { chunks, error } = await drain(await streamChat('error-after=3'));
    expect(chunks).toHaveLength(3);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBeUndefined();
    expect((error as APIError).message).toContain(OPENAI_MESSAGES.server);
  });

  it('a connection dropped mid-stream (FIN or RST) makes the SDK throw', async () => {
    const fin = await drain(await streamChat('reset-after=3'));
    expect(fin.chunks).toHaveLength(3);
    expect(fin.error).toBeInstanceOf(Error);
    const rst = await drain(await streamChat('reset-after=2; rst; chunk-delay=5'));
    expect(rst.error).toBeInstanceOf(Error);
    expect(fake.stats).toMatchObject({ resets: 2, streamsAborted: 0, clientAborts: 0 });
    await expect(
      client().chat.completions.create({ model: 'gpt-4o-mini', messages: user('x') }, behave('reset-after=0')),
    ).rejects.toBeInstanceOf(APIConnectionError);
  });

  it('a malformed event makes the SDK throw; a stream without [DONE] ends cleanly', async () => {
    const garbage = await drain(await streamChat('garbage-after=2'));
    expect(garbage.chunks).toHaveLength(2);
    expect(garbage.error).toBeInstanceOf(SyntaxError);
    const noDone = await drain(await streamChat('no-done'));
    expect(noDone.error).toBeUndefined();
    expect(contentOf(noDone.chunks)).toBe(ECHO);
    const text = await (
      await wire('/chat/completions', {
        body: { model: 'gpt-4o-mini', messages: user('x'), stream: true },
        headers: { 'x-fake-behavior': 'no-done' },
      })
    ).text();
    expect(text).not.toContain('[DONE]');
  });

  it('counts a client that aborts mid-stream, and stops writing', async () => {
    const controller = new AbortController();
    const stream = await streamChat('stall-after=3', { signal: controller.signal });
    const seen: ChatCompletionChunk[] = [];
    try {
      for await (const chunk of stream) {
        seen.push(chunk);
        if (seen.length === 3) controller.abort();
      }
    } catch (error) {
      expect(error).toBeInstanceOf(APIUserAbortError);
    }
    await fake.until((f) => f.stats.streamsAborted === 1);
    expect(fake.stats).toMatchObject({ streamsStarted: 1, streamsCompleted: 0, clientAborts: 1, inFlight: 0 });

    const slow = new AbortController();
    const slowStream = await streamChat('chunk-delay=20; words=500', { signal: slow.signal });
    const slowSeen: ChatCompletionChunk[] = [];
    for await (const chunk of slowStream) {
      slowSeen.push(chunk);
      slow.abort();
    }
    expect(slowSeen).toHaveLength(1);
    await fake.until((f) => f.stats.streamsAborted === 2);
    expect(fake.stats.streamsCompleted).toBe(0);
  });

  it('counts requests in flight; a hung request ends when the client gives up or the fake closes', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const pending = controllers.map((c) =>
      client()
        .models.list({ ...behave('hang'), signal: c.signal })
        .catch((e: unknown) => e),
    );
    await fake.until((f) => f.stats.inFlight === 2);
    for (const c of controllers) c.abort();
    expect((await Promise.all(pending)).every((e) => e instanceof APIUserAbortError)).toBe(true);
    await fake.until((f) => f.stats.inFlight === 0 && f.stats.clientAborts === 2);
    expect(fake.stats.maxInFlight).toBe(2);

    const other = await FakeOpenAI.start({ behavior: 'delay=60000' });
    const hung = new OpenAI({ baseURL: other.url, apiKey: 'k', maxRetries: 0 }).models.list().catch((e: unknown) => e);
    await other.until((f) => f.stats.inFlight === 1);
    await other.close();
    expect(await hung).toBeInstanceOf(APIConnectionError);
  });

  it('serves a custom model list and key list', async () => {
    const other = await FakeOpenAI.start({ models: ['my-model'], apiKeys: ['sk-one'], record: false });
    const c = new OpenAI({ baseURL: other.url, apiKey: 'sk-one', maxRetries: 0 });
    expect((await c.chat.completions.create({ model: 'my-model', messages: user('x') })).model).toBe('my-model');
    await expect(c.chat.completions.create({ model: 'gpt-4o', messages: user('x') })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(other.requests).toHaveLength(0);
    expect(other.stats.requests).toBe(2);
    await other.close();
  });
});
