import { BadRequestError, type OpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends, call } from '#test/helpers/test-app.ts';
import {
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

type Route = 'chat' | 'completions' | 'embeddings' | 'images';
type Body = Record<string, unknown>;

/** A valid body of each route, that each case spoils in one field. */
const VALID: Record<Route, Body> = {
  chat: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] },
  completions: { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time' },
  embeddings: { model: 'text-embedding-3-small', input: 'The food was delicious' },
  images: { model: 'dall-e-2', prompt: 'a lighthouse at dawn' },
};
const PATH: Record<Route, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  images: '/images/generations',
};

/** Sends `body` as it is through the official SDK (its types are bypassed on purpose). */
function send(client: OpenAI, route: Route, body: Body): Promise<unknown> {
  if (route === 'chat') return client.chat.completions.create(body as never);
  if (route === 'completions') return client.completions.create(body as never);
  if (route === 'embeddings') return client.embeddings.create(body as never);
  return client.images.generate(body as never);
}

/** The route's valid body with `change` made: fields set, or (a name) one field left out. */
function spoil(route: Route, change: Body | string): Body {
  if (typeof change === 'string')
    return Object.fromEntries(Object.entries(VALID[route]).filter(([name]) => name !== change));
  return { ...VALID[route], ...change };
}

/** [route, the change to its valid body, OpenAI's param, OpenAI's code, the English message]. */
const CASES: Array<[Route, Body | string, string, string, string]> = [
  [
    'chat',
    { stream: 'true' },
    'stream',
    'invalid_type',
    "Invalid type for 'stream': expected a boolean, but got a string instead.",
  ],
  [
    'chat',
    { stream: 1 },
    'stream',
    'invalid_type',
    "Invalid type for 'stream': expected a boolean, but got an integer instead.",
  ],
  [
    'chat',
    { max_tokens: 5.5 },
    'max_tokens',
    'invalid_type',
    "Invalid type for 'max_tokens': expected an integer, but got a decimal number instead.",
  ],
  [
    'chat',
    { max_completion_tokens: '100' },
    'max_completion_tokens',
    'invalid_type',
    "Invalid type for 'max_completion_tokens': expected an integer, but got a string instead.",
  ],
  [
    'chat',
    { max_tokens: 0 },
    'max_tokens',
    'integer_below_min_value',
    "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
  ],
  [
    'chat',
    { max_tokens: 10_000_001 },
    'max_tokens',
    'integer_above_max_value',
    "Invalid 'max_tokens': integer above maximum value. Expected a value <= 10000000, but got 10000001 instead.",
  ],
  [
    'chat',
    { messages: { role: 'user', content: 'hi' } },
    'messages',
    'invalid_type',
    "Invalid type for 'messages': expected an array, but got an object instead.",
  ],
  [
    'chat',
    { messages: [] },
    'messages',
    'empty_array',
    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
  ],
  [
    'chat',
    { messages: [null] },
    'messages[0]',
    'invalid_type',
    "Invalid type for 'messages[0]': expected an object, but got null instead.",
  ],
  [
    'chat',
    { messages: [{ role: 'user', content: 'hi' }, 'hi'] },
    'messages[1]',
    'invalid_type',
    "Invalid type for 'messages[1]': expected an object, but got a string instead.",
  ],
  ['chat', { n: [2] }, 'n', 'invalid_type', "Invalid type for 'n': expected an integer, but got an array instead."],
  [
    'chat',
    { n: 129 },
    'n',
    'integer_above_max_value',
    "Invalid 'n': integer above maximum value. Expected a value <= 128, but got 129 instead.",
  ],
  [
    'chat',
    { stream: true, stream_options: 'yes' },
    'stream_options',
    'invalid_type',
    "Invalid type for 'stream_options': expected an object, but got a string instead.",
  ],
  [
    'chat',
    { stream: true, stream_options: { include_usage: 'true' } },
    'stream_options.include_usage',
    'invalid_type',
    "Invalid type for 'stream_options.include_usage': expected a boolean, but got a string instead.",
  ],
  [
    'chat',
    { model: 42 },
    'model',
    'invalid_type',
    "Invalid type for 'model': expected a string, but got an integer instead.",
  ],
  [
    'chat',
    { model: '' },
    'model',
    'empty_string',
    "Invalid 'model': empty string. Expected a string with minimum length 1, but got an empty string instead.",
  ],
  ['chat', 'model', 'model', 'missing_required_parameter', "Missing required parameter: 'model'."],
  ['chat', 'messages', 'messages', 'missing_required_parameter', "Missing required parameter: 'messages'."],
  ['completions', 'prompt', 'prompt', 'missing_required_parameter', "Missing required parameter: 'prompt'."],
  [
    'completions',
    { prompt: 42 },
    'prompt',
    'invalid_type',
    "Invalid type for 'prompt': expected one of a string or an array, but got an integer instead.",
  ],
  [
    'completions',
    { stream: 'false' },
    'stream',
    'invalid_type',
    "Invalid type for 'stream': expected a boolean, but got a string instead.",
  ],
  [
    'completions',
    { best_of: 1.5 },
    'best_of',
    'invalid_type',
    "Invalid type for 'best_of': expected an integer, but got a decimal number instead.",
  ],
  [
    'completions',
    { best_of: 129 },
    'best_of',
    'integer_above_max_value',
    "Invalid 'best_of': integer above maximum value. Expected a value <= 128, but got 129 instead.",
  ],
  [
    'completions',
    { max_tokens: -1 },
    'max_tokens',
    'integer_below_min_value',
    "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got -1 instead.",
  ],
  [
    'embeddings',
    { input: { text: 'hi' } },
    'input',
    'invalid_type',
    "Invalid type for 'input': expected one of a string or an array, but got an object instead.",
  ],
  [
    'embeddings',
    { input: [] },
    'input',
    'empty_array',
    "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.",
  ],
  ['embeddings', 'input', 'input', 'missing_required_parameter', "Missing required parameter: 'input'."],
  [
    'embeddings',
    { model: null },
    'model',
    'invalid_type',
    "Invalid type for 'model': expected a string, but got null instead.",
  ],
  [
    'images',
    { n: 11 },
    'n',
    'integer_above_max_value',
    "Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead.",
  ],
  ['images', { n: '2' }, 'n', 'invalid_type', "Invalid type for 'n': expected an integer, but got a string instead."],
  [
    'images',
    { prompt: '' },
    'prompt',
    'empty_string',
    "Invalid 'prompt': empty string. Expected a string with minimum length 1, but got an empty string instead.",
  ],
  [
    'images',
    { quality: 5 },
    'quality',
    'invalid_type',
    "Invalid type for 'quality': expected a string, but got an integer instead.",
  ],
];

describe.each(backends())('strict types at the /v1 edge on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { listen: true });
    await setPrice(g.t, g.admin, 'text-embedding-3-small', { input: 2 });
    await setPrice(g.t, g.admin, 'dall-e-2', { perImage: 20 });
  });
  afterAll(() => g.close());
  beforeEach(() => g.fake.reset());

  /** Nothing reached the upstream, nothing was recorded, held or charged: the sign-up bonus is whole. */
  async function expectNothingCharged(userId: string): Promise<void> {
    expect(g.fake.stats.requests, 'upstream requests').toBe(0);
    expect(await usageRows(g, userId)).toHaveLength(0);
    expect(await expectBooksBalanced(g, userId)).toBe(1000);
  }

  it('refuses a wrong type in each field Tollgate reads with 400 naming the field, as OpenAI does, and charges nothing', async () => {
    const c = await newCaller(g);
    const client = sdk(g, c.secret, { defaultHeaders: { 'accept-language': 'en' } });
    for (const [route, change, param, code, message] of CASES) {
      const label = `${route} ${JSON.stringify(change)}`;
      const error = await send(client, route, spoil(route, change)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, label).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).error, label).toEqual({ message, type: 'invalid_request_error', param, code });
    }
    await expectNothingCharged(c.user.id);
  });

  it('says it in Chinese unless the client prefers English', async () => {
    const c = await newCaller(g);
    const error = await send(sdk(g, c.secret), 'chat', spoil('chat', { stream: 'true' })).catch((e: unknown) => e);
    expect((error as BadRequestError).error).toEqual({
      message: "参数 'stream' 的类型无效：应为布尔值，实际为字符串。",
      type: 'invalid_request_error',
      param: 'stream',
      code: 'invalid_type',
    });
    const res = await v1(g, c.secret, 'POST', '/api/v1/chat/completions', spoil('chat', { max_tokens: 0 }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        message: "参数 'max_tokens' 的值过小：应 >= 1，实际为 0。",
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'integer_below_min_value',
      },
    });
    await expectNothingCharged(c.user.id);
  });

  it('lets every other field reach the upstream untouched: nothing coerced, removed or added', async () => {
    const c = await newCaller(g);
    const extras = {
      temperature: 0.3,
      response_format: { type: 'json_object' },
      logit_bias: { '50256': -100 },
      metadata: { team: 'a', nested: [1, '2', null, { deep: true }] },
      x_vendor_flag: 'on',
      // OpenAI takes null as unset; so does Tollgate, and passes it on as it came.
      stream: null,
      stream_options: null,
      max_tokens: null,
      n: null,
    };
    const bodies: Record<Route, Body> = {
      chat: {
        ...VALID.chat,
        ...extras,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }], name: 'ann', custom: 1 }],
      },
      completions: { ...VALID.completions, prompt: ['one', 'two'], suffix: '!', echo: false, best_of: 2, n: 1 },
      embeddings: { ...VALID.embeddings, input: [[1, 2, 3]], dimensions: 256, encoding_format: 'float', user: 'u-1' },
      images: { ...VALID.images, n: 2, size: '256x256', response_format: 'url', quality: null, style: 'vivid' },
    };
    for (const route of ['chat', 'completions', 'embeddings', 'images'] as const) {
      const res = await v1(g, c.secret, 'POST', `/v1${PATH[route]}`, bodies[route]);
      expect(res.statusCode, `${route}: ${res.body}`).toBe(200);
      expect(g.fake.lastRequest(PATH[route])!.body, route).toEqual(bodies[route]);
    }
    expect(await usageRows(g, c.user.id)).toHaveLength(4);
    await expectBooksBalanced(g, c.user.id);
  });

  it('takes null as unset: a call that sends null output limits is held and limited as one that sends none', async () => {
    const absent = await newCaller(g);
    const nulls = await newCaller(g);
    // 30 credits cannot cover the model's whole output: the upstream is sent the limit the balance affords.
    for (const c of [absent, nulls]) await setBalance(g, c.user.id, 30);
    const sent: Body[] = [];
    for (const [c, body] of [
      [absent, VALID.chat],
      [nulls, { ...VALID.chat, max_tokens: null, max_completion_tokens: null, n: null }],
    ] as const) {
      const res = await v1(g, c.secret, 'POST', '/v1/chat/completions', body);
      expect(res.statusCode, res.body).toBe(200);
      sent.push(g.fake.lastRequest('/chat/completions')!.body as Body);
    }
    expect(sent[0]!.max_completion_tokens).toEqual(expect.any(Number));
    expect(sent[1]!.max_completion_tokens).toBe(sent[0]!.max_completion_tokens);
    expect(await expectBooksBalanced(g, nulls.user.id)).toBe(await expectBooksBalanced(g, absent.user.id));
  });

  it("keeps the envelope of the other surfaces' validation errors", async () => {
    const c = await newCaller(g);
    const res = await call(g.t.app, 'POST', '/api/keys', {
      token: c.user.accessToken,
      body: { name: 5 },
      headers: { 'accept-language': 'en' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'Invalid request: name must be of type string',
      path: '/api/keys',
    });
    expect(res.json()).not.toHaveProperty('param');
  });
});
