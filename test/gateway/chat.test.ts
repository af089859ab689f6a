import { countTokens as tokenizer } from 'gpt-tokenizer';
import { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import {
  chatBody,
  expectBilledOnce,
  expectBooksBalanced,
  MODEL,
  newCaller,
  sdk,
  setBalance,
  setPrice,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

const PROMPT = 'Say hello to the nice people';
const user = (content: string = PROMPT) => [{ role: 'user' as const, content }];
/** Extra body fields cross Tollgate untouched; the fake reads its behaviour from this one. */
const fake = (spec: string) => ({ fake_behavior: spec }) as Record<string, unknown>;
/** Tollgate's own count of a one-message chat prompt (used when the upstream reports no usage). */
const promptTokens = (...contents: string[]) => 3 + contents.reduce((n, c) => n + 4 + tokenizer(c), 0);

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

describe.each(backends())('chat through the official SDK on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { listen: true });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  const create = async (secret: string, body: Record<string, unknown>) =>
    sdk(g, secret).chat.completions.create({
      model: MODEL,
      messages: user(),
      ...body,
    } as unknown as ChatCompletionCreateParams);

  it('answers a non-stream call and bills the upstream usage exactly', async () => {
    const c = await newCaller(g);
    const answer = await sdk(g, c.secret).chat.completions.create({
      model: MODEL,
      messages: user(),
      ...fake('usage=1000,500'),
    });
    expect(answer.choices[0]!.message.content).toBe(`Echo: ${PROMPT}`);
    expect(answer.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    // 1 per request + 1000 × 10/1K + 500 × 20/1K
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 21,
      inputTokens: 1000,
      outputTokens: 500,
      endReason: 'stop',
      usageSource: 'upstream',
      status: 'ok',
    });
  });

  it('streams the text without a usage chunk when the client did not ask, yet bills the upstream usage', async () => {
    const c = await newCaller(g);
    const chunks = await collect(
      await sdk(g, c.secret).chat.completions.create({
        model: MODEL,
        messages: user(),
        stream: true,
        ...fake('usage=1000,500'),
      }),
    );
    expect(textOf(chunks)).toBe(`Echo: ${PROMPT}`);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    expect((g.fake.lastRequest('/chat/completions')!.body as { stream_options: unknown }).stream_options).toEqual({
      include_usage: true,
    });
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 21,
      inputTokens: 1000,
      outputTokens: 500,
      endReason: 'stop',
      usageSource: 'upstream',
    });
  });

  it('passes the usage chunk on when the client asked include_usage', async () => {
    const c = await newCaller(g);
    const stream = await sdk(g, c.secret).chat.completions.create({
      model: MODEL,
      messages: user(),
      stream: true,
      stream_options: { include_usage: true },
      ...fake('usage=40,60'),
    });
    const chunks = await collect(stream);
    expect(textOf(chunks)).toBe(`Echo: ${PROMPT}`);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 40, completion_tokens: 60, total_tokens: 100 },
    });
    // 1 + 0.4 + 1.2 = 2.6 → 3
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 3,
      inputTokens: 40,
      outputTokens: 60,
      usageSource: 'upstream',
    });
  });

  it('lets the chat.completions.stream() helper finish', async () => {
    const c = await newCaller(g);
    const runner = sdk(g, c.secret).chat.completions.stream({
      model: MODEL,
      messages: user(),
      ...fake('usage=100,100'),
    } as never);
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(`Echo: ${PROMPT}`);
    expect(final.choices[0]!.finish_reason).toBe('stop');
    await expectBilledOnce(g, c.user.id, 1000, { credits: 4, endReason: 'stop', usageSource: 'upstream' });
  });

  it('passes tools and unknown fields through untouched and bills the tool call', async () => {
    const c = await newCaller(g);
    const body = {
      model: MODEL,
      messages: user('What is the weather in Paris?'),
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      metadata: { trace: 'abc' },
      x_vendor_extension: { nested: [1, 2, { deep: true }] },
      temperature: 0.2,
    };
    const answer = await create(c.secret, body);
    expect(answer).toMatchObject({
      choices: [
        {
          finish_reason: 'tool_calls',
          message: { tool_calls: [{ type: 'function', function: { name: 'get_weather' } }] },
        },
      ],
    });
    expect(g.fake.lastRequest('/chat/completions')!.body).toEqual(body);
    expect(answer).toMatchObject({ usage: { prompt_tokens: 6, completion_tokens: 6 } });
    // 1 + 6 × 10/1000 + 6 × 20/1000 = 1.18, rounded up.
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 2,
      inputTokens: 6,
      outputTokens: 6,
      endReason: 'tool_calls',
      usageSource: 'upstream',
    });
  });

  it('passes image parts in messages through', async () => {
    const c = await newCaller(g);
    const messages = [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: 'What is in this picture?' },
          {
            type: 'image_url' as const,
            image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' as const },
          },
        ],
      },
    ];
    const answer = await sdk(g, c.secret).chat.completions.create({ model: MODEL, messages });
    expect((g.fake.lastRequest('/chat/completions')!.body as { messages: unknown }).messages).toEqual(messages);
    expect(answer.usage).toMatchObject({ prompt_tokens: 5 + 85, completion_tokens: 6 });
    // 1 + 90 × 10/1000 + 6 × 20/1000 = 2.02, rounded up.
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 3,
      inputTokens: 90,
      outputTokens: 6,
      usageSource: 'upstream',
    });
  });

  it('serves legacy /v1/completions, whole and streamed, at the shipped default price', async () => {
    const c = await newCaller(g);
    const client = sdk(g, c.secret);
    const whole = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Once upon a time',
      ...fake('usage=1000,1000'),
    });
    expect(whole.choices[0]!.text).toBe('Echo: Once upon a time');
    // The shipped price: $1.5 and $2 per 1M tokens × 1000 credits/$ = 1.5 and 2 per 1K → 3.5 → 4
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 4,
      inputTokens: 1000,
      outputTokens: 1000,
      endpoint: 'completions',
      usageSource: 'upstream',
    });
    let text = '';
    for await (const chunk of await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Once upon a time',
      stream: true,
      ...fake('usage=1000,1000'),
    })) {
      expect(chunk.usage ?? null).toBeNull();
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe('Echo: Once upon a time');
    const rows = await usageRows(g, c.user.id);
    expect(rows.map((r) => [r.stream, r.credits, r.usage_source])).toEqual([
      [0, 4, 'upstream'],
      [1, 4, 'upstream'],
    ]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(992);
  });

  it('answers the seed-004 alias /api/v1/chat/completions the same way', async () => {
    const c = await newCaller(g);
    const res = await v1(g, c.secret, 'POST', '/api/v1/chat/completions', chatBody(fake('usage=1000,500')));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: `Echo: ${PROMPT}` } }],
    });
    await expectBilledOnce(g, c.user.id, 1000, { credits: 21 });
  });

  it('bills embeddings by prompt tokens, as float and as base64 (the SDK default)', async () => {
    const c = await newCaller(g);
    await setPrice(g.t, g.admin, 'text-embedding-3-small', { input: 2 });
    const client = sdk(g, c.secret);
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'The food was delicious',
      encoding_format: 'float',
      ...fake('usage=1000,0'),
    });
    expect(floats.data[0]!.embedding).toHaveLength(1536);
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 2,
      inputTokens: 1000,
      outputTokens: 0,
      endpoint: 'embeddings',
      usageSource: 'upstream',
    });
    const decoded = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['The food was delicious', 'and the waiter'],
    });
    expect((g.fake.lastRequest('/embeddings')!.body as { encoding_format: string }).encoding_format).toBe('base64');
    expect(decoded.data).toHaveLength(2);
    expect(decoded.data[0]!.embedding).toHaveLength(1536);
    expect(decoded.data[0]!.embedding[0]).toBeCloseTo(floats.data[0]!.embedding[0]!, 6);
    expect(decoded.usage.prompt_tokens).toBe(7);
    const rows = await usageRows(g, c.user.id);
    expect(rows.map((r) => [r.input_tokens, r.credits])).toEqual([
      [1000, 2],
      [7, 1], // 7 × 2/1K = 0.014 → 1
    ]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(997);
  });

  it('bills images per picture: dall-e-3 urls, gpt-image-1 base64 plus its tokens', async () => {
    const c = await newCaller(g);
    await setPrice(g.t, g.admin, 'dall-e-3', { perImage: 25 });
    await setPrice(g.t, g.admin, 'gpt-image-1', { input: 5, output: 10, perImage: 3 });
    const client = sdk(g, c.secret);
    const url = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse at dawn', size: '1024x1024' });
    expect(url.data![0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/img-.+\.png$/);
    await expectBilledOnce(g, c.user.id, 1000, {
      credits: 25,
      endpoint: 'images.generations',
      usageSource: 'upstream',
    });
    const b64 = await client.images.generate({
      model: 'gpt-image-1',
      prompt: 'a lighthouse at dawn',
      n: 2,
      quality: 'low',
    });
    expect(b64.data!.map((d) => d.b64_json?.length)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(b64.usage).toMatchObject({ input_tokens: 4, output_tokens: 544 });
    const rows = await usageRows(g, c.user.id);
    // 2 × 3 per image + 4 × 5/1K + 544 × 10/1K = 6 + 0.02 + 5.44 = 11.46 → 12
    expect(rows.map((r) => [r.input_tokens, r.output_tokens, r.credits])).toEqual([
      [0, 0, 25],
      [4, 544, 12],
    ]);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(1000 - 25 - 12);
  });

  it('refuses up front a picture the balance cannot cover at its largest, instead of running into debt', async () => {
    const c = await newCaller(g);
    await setPrice(g.t, g.admin, 'gpt-image-1', { input: 5, output: 10, perImage: 3 });
    // A high-quality picture is up to 6240 output tokens: 3 + 62.4 credits. 40 credits cannot cover it.
    await setBalance(g, c.user.id, 40);
    const refused = await sdk(g, c.secret)
      .images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse', quality: 'high' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(APIError);
    expect(refused).toMatchObject({ status: 402, code: 'insufficient_quota' });
    expect(g.fake.requestsTo('/images/generations')).toHaveLength(0);
    expect(await usageRows(g, c.user.id)).toHaveLength(0);
    expect(await expectBooksBalanced(g, c.user.id)).toBe(40);
  });

  it('lists only priced models some channel serves, and answers one by id', async () => {
    const c = await newCaller(g);
    const res = await call(g.t.app, 'POST', '/api/admin/channels', {
      token: g.admin,
      body: { name: 'extra', baseUrl: g.fake.url, apiKey: 'sk-x-123456789', models: ['mystery-model'] },
    });
    expect(res.statusCode).toBe(201);
    const client = sdk(g, c.secret);
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain(MODEL);
    expect(ids).toContain('text-embedding-3-small');
    expect(ids).not.toContain('mystery-model');
    expect(await client.models.retrieve(MODEL)).toMatchObject({ id: MODEL, object: 'model' });
    expect((await v1(g, c.secret, 'GET', `/api/v1/models/${MODEL}`)).json()).toMatchObject({ id: MODEL });
    const missing = await client.models.retrieve('mystery-model').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found' });
    await call(g.t.app, 'DELETE', `/api/admin/channels/${res.json<{ id: string }>().id}`, { token: g.admin });
  });

  describe('each error the SDK raises', () => {
    const attempt = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );

    it('no key: 401 with code null', async () => {
      const error = await attempt(
        sdk(g, 'unused', { defaultHeaders: { authorization: null } }).chat.completions.create({
          model: MODEL,
          messages: user(),
        }),
      );
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: null, type: 'invalid_request_error' });
      expect(g.fake.stats.requests).toBe(0);
    });

    it('a wrong key: 401 invalid_api_key', async () => {
      const error = await attempt(
        sdk(g, 'sk-not-a-real-key-0000000000000000').chat.completions.create({ model: MODEL, messages: user() }),
      );
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    });

    it('an unknown model: 404 model_not_found, nothing held or recorded', async () => {
      const c = await newCaller(g);
      const error = await attempt(
        sdk(g, c.secret).chat.completions.create({ model: 'gpt-nonexistent', messages: user() }),
      );
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      expect(await usageRows(g, c.user.id)).toHaveLength(0);
      expect(await expectBooksBalanced(g, c.user.id)).toBe(1000);
    });

    it('too few credits: 402 insufficient_quota, the upstream never called', async () => {
      const c = await newCaller(g);
      // Less than the prompt and one output token cost (a call the balance can pay that much of is
      // served with the output limit it affords: test/gateway/balance-floor.test.ts).
      await setBalance(g, c.user.id, 1);
      const error = await attempt(sdk(g, c.secret).chat.completions.create({ model: MODEL, messages: user() }));
      expect(error).toBeInstanceOf(APIError);
      expect(error).toMatchObject({ status: 402, code: 'insufficient_quota', type: 'insufficient_quota' });
      expect(g.fake.stats.requests).toBe(0);
      expect(await usageRows(g, c.user.id)).toHaveLength(0);
      expect(await expectBooksBalanced(g, c.user.id)).toBe(1);
    });

    it('a bad body: 400 invalid_request_error, nothing charged', async () => {
      const c = await newCaller(g);
      for (const body of [
        { model: MODEL },
        { model: MODEL, messages: [] },
        { messages: user() },
        { model: MODEL, messages: 'hello' },
      ]) {
        const error = await attempt(sdk(g, c.secret).chat.completions.create(body as never));
        expect(error).toBeInstanceOf(BadRequestError);
        expect(error).toMatchObject({ status: 400, type: 'invalid_request_error' });
      }
      expect(g.fake.stats.requests).toBe(0);
      expect(await usageRows(g, c.user.id)).toHaveLength(0);
      expect(await expectBooksBalanced(g, c.user.id)).toBe(1000);
    });

    it("an upstream 400 comes back with the upstream's status and body, not charged", async () => {
      const c = await newCaller(g);
      const error = await attempt(create(c.secret, fake('status=400; message=Invalid value for temperature')));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error).toMatchObject({ status: 400, message: expect.stringContaining('Invalid value for temperature') });
      expect(g.fake.stats.requests).toBe(1);
      await expectBilledOnce(g, c.user.id, 1000, { credits: 0, status: 'error', endReason: 'upstream_refused' });
    });
  });

  describe('usage the upstream did not give', () => {
    it('is counted with the tokenizer and marked estimated (non-stream)', async () => {
      const c = await newCaller(g);
      const answer = await create(c.secret, fake('usage=none; text=Hello there, friend of mine'));
      expect((answer as { usage?: unknown }).usage).toBeUndefined();
      const input = promptTokens(PROMPT);
      const output = tokenizer('Hello there, friend of mine');
      expect([input, output]).toEqual([13, 6]);
      // 1 + 13 × 10/1000 + 6 × 20/1000 = 1.25, rounded up.
      await expectBilledOnce(g, c.user.id, 1000, {
        credits: 2,
        inputTokens: 13,
        outputTokens: 6,
        usageSource: 'estimated',
      });
    });

    it('is counted with the tokenizer and marked estimated (stream)', async () => {
      const c = await newCaller(g);
      const chunks = await collect(
        await sdk(g, c.secret).chat.completions.create({
          model: MODEL,
          messages: user(),
          stream: true,
          ...fake('usage=none; words=300'),
        }),
      );
      const text = textOf(chunks);
      const [input, output] = [promptTokens(PROMPT), tokenizer(text)];
      expect([input, output]).toEqual([13, 301]);
      // 1 + 13 × 10/1000 + 301 × 20/1000 = 7.15, rounded up.
      await expectBilledOnce(g, c.user.id, 1000, {
        credits: 8,
        inputTokens: 13,
        outputTokens: 301,
        usageSource: 'estimated',
        endReason: 'stop',
      });
    });

    it('explicit zero usage is respected: the per-request price only, not an estimate', async () => {
      const c = await newCaller(g);
      await create(c.secret, fake('usage=0,0'));
      await expectBilledOnce(g, c.user.id, 1000, {
        credits: 1,
        inputTokens: 0,
        outputTokens: 0,
        usageSource: 'upstream',
      });
      const streamed = await newCaller(g);
      await collect(
        await sdk(g, streamed.secret).chat.completions.create({
          model: MODEL,
          messages: user(),
          stream: true,
          ...fake('usage=0,0'),
        }),
      );
      await expectBilledOnce(g, streamed.user.id, 1000, {
        credits: 1,
        inputTokens: 0,
        outputTokens: 0,
        usageSource: 'upstream',
      });
    });

    it('usage on the last content chunk (some compatible upstreams) is read too', async () => {
      const c = await newCaller(g);
      await collect(
        await sdk(g, c.secret).chat.completions.create({
          model: MODEL,
          messages: user(),
          stream: true,
          ...fake('usage=1000,500; usage-in=last-content'),
        }),
      );
      await expectBilledOnce(g, c.user.id, 1000, { credits: 21, usageSource: 'upstream' });
    });
  });
});
