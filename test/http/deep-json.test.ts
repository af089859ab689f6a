import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '#core/http/json-body.ts';
import { FakeDify } from '#test/fakes/dify.ts';
import { addDifyApp, APP_KEYS } from '#test/dify/helpers.ts';
import {
  expectBooksBalanced,
  newCaller,
  startGateway,
  usageRows,
  type Caller,
  type Gateway,
} from '#test/helpers/gateway.ts';
import { backends, call } from '#test/helpers/test-app.ts';

const DEPTH = 100_000;
/** `depth` arrays inside each other: `[[[…]]]`. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const JSON_HEADERS = { 'content-type': 'application/json', 'accept-language': 'en' };

describe('nestsDeeperThan: one pass over the text, strings skipped whole', () => {
  it.each([
    ['[[[]]]', 3, false],
    ['[[[[]]]]', 3, true],
    ['{"a":{"b":{"c":1}}}', 3, false],
    ['{"a":{"b":{"c":{}}}}', 3, true],
    ['["[[[[[[[[", "{{{{{{{{"]', 3, false],
    ['["\\"", [[[]]]]', 3, true],
    ['["\\\\", [[]]]', 3, false],
    ['["\\\\\\"[[[[[[["]', 3, false],
    ['[[[]]][[[]]][[[]]]', 3, false],
    ['"never closed [[[[[[', 3, false],
    [nested(DEPTH), MAX_JSON_DEPTH, true],
  ])('%s deeper than %i: %s', (text, max, expected) => {
    expect(nestsDeeperThan(text, max)).toBe(expected);
  });
});

/**
 * Issue 15, item 1: JSON nested 100,000 deep in each place a client may put it was a 500 (a recursive
 * walk over the body overflowed the stack). Every route now refuses a body nested past
 * MAX_JSON_DEPTH with 400 in its surface's error shape, when the body is parsed, before anything runs.
 */
describe.each(backends().slice(0, 1))('JSON nested past the depth limit ($label)', (backend) => {
  let g: Gateway;
  let dify: FakeDify;
  let caller: Caller;
  beforeAll(async () => {
    g = await startGateway(backend, { env: { GATEWAY_BODY_LIMIT: '1048576' } });
    dify = await FakeDify.start();
    await addDifyApp(g.t, g.admin, dify, APP_KEYS.chat, 'chat');
    await addDifyApp(g.t, g.admin, dify, APP_KEYS.completion, 'completion');
    caller = await newCaller(g);
  });
  afterAll(async () => {
    await g.close();
    await dify.close();
  });

  /** Nothing reached an upstream and nothing was charged or held. */
  async function expectNothingHappened(openAiCalls: number, difyCalls: number) {
    expect(g.fake.stats.requests, 'calls to the OpenAI upstream').toBe(openAiCalls);
    expect(dify.stats.requests, 'calls to Dify').toBe(difyCalls);
    expect(await usageRows(g, caller.user.id)).toHaveLength(0);
    expect(await expectBooksBalanced(g, caller.user.id)).toBe(1000);
  }

  const deep = nested(DEPTH);
  it.each([
    [
      '/v1/chat/completions',
      'messages[].tool_calls',
      `{"model":"gpt-4o-mini","messages":[{"role":"assistant","content":"hi","tool_calls":${deep}}]}`,
    ],
    [
      '/api/v1/chat/completions',
      'messages[].tool_calls',
      `{"model":"gpt-4o-mini","messages":[{"role":"assistant","content":"hi","tool_calls":${deep}}]}`,
    ],
    ['/v1/completions', 'prompt', `{"model":"gpt-3.5-turbo-instruct","prompt":${deep}}`],
    ['/v1/embeddings', 'input', `{"model":"text-embedding-3-small","input":${deep}}`],
    ['/v1/images/generations', 'an unknown field', `{"model":"dall-e-2","prompt":"a cat","extra":${deep}}`],
  ])('%s with %s nested 100,000 deep: 400 in OpenAI’s shape, nothing sent or charged', async (url, _, payload) => {
    const [openAiCalls, difyCalls] = [g.fake.stats.requests, dify.stats.requests];
    const res = await call(g.t.app, 'POST', url, { token: caller.secret, body: payload, headers: JSON_HEADERS });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    expect(res.json()).toEqual({
      error: {
        message: `The request body is nested more than ${MAX_JSON_DEPTH} levels deep`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    await expectNothingHappened(openAiCalls, difyCalls);
  });

  it.each([
    ['/api/dify/chat-messages', 'inputs', `{"query":"hi","response_mode":"blocking","inputs":{"deep":${deep}}}`],
    ['/api/dify/completion-messages', 'inputs', `{"response_mode":"blocking","inputs":{"deep":${deep}}}`],
    ['/api/dify/proxy', 'data', `{"endpoint":"chat-messages","data":{"query":"hi","inputs":{"deep":${deep}}}}`],
    ['/api/auth/login', 'a field', `{"email":"a@example.com","password":${deep}}`],
  ])('%s with %s nested 100,000 deep: 400 in the envelope, nothing sent or charged', async (url, _, payload) => {
    const [openAiCalls, difyCalls] = [g.fake.stats.requests, dify.stats.requests];
    const res = await call(g.t.app, 'POST', url, {
      token: caller.user.accessToken,
      body: payload,
      headers: JSON_HEADERS,
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      code: 'JSON_TOO_DEEP',
      message: `The request body is nested more than ${MAX_JSON_DEPTH} levels deep`,
      path: url,
    });
    await expectNothingHappened(openAiCalls, difyCalls);
  });

  it('seed 002’s surface answers in its own shape: {detail}', async () => {
    const res = await call(g.t.app, 'POST', '/api/v1/auth/login', {
      body: `{"username":"a","password":${deep}}`,
      headers: JSON_HEADERS,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: `The request body is nested more than ${MAX_JSON_DEPTH} levels deep` });
  });

  it('counts only brackets outside strings, and takes a body exactly at the limit', async () => {
    const other = await newCaller(g);
    // Brackets and escaped quotes inside a string are text, not nesting: the call goes through.
    const inString = JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `\\"${'['.repeat(5_000)}"{{` }],
    });
    expect(
      (
        await call(g.t.app, 'POST', '/v1/chat/completions', {
          token: other.secret,
          body: inString,
          headers: JSON_HEADERS,
        })
      ).statusCode,
    ).toBe(200);

    // The body object is level 1, messages 2, the message 3, then the nesting inside tool_calls.
    const withToolCalls = (depth: number) =>
      `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","tool_calls":${nested(depth)}}]}`;
    const refused = await call(g.t.app, 'POST', '/v1/chat/completions', {
      token: other.secret,
      body: withToolCalls(MAX_JSON_DEPTH - 2),
      headers: JSON_HEADERS,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ error: { message: string } }>().error.message).toContain('nested more than');
    const taken = await call(g.t.app, 'POST', '/v1/chat/completions', {
      token: other.secret,
      body: withToolCalls(MAX_JSON_DEPTH - 3),
      headers: JSON_HEADERS,
    });
    expect(taken.statusCode).toBe(200);
  });

  it('speaks Chinese by default', async () => {
    const res = await call(g.t.app, 'POST', '/api/auth/login', {
      body: `{"email":${deep}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.json()).toMatchObject({ code: 'JSON_TOO_DEEP', message: `请求体 JSON 嵌套超过 ${MAX_JSON_DEPTH} 层` });
  });
});
