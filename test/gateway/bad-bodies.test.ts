import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBackendUnavailable, registerErrorHandling } from '#core/http/error-handler.ts';
import { backends } from '#test/helpers/test-app.ts';
import {
  channelView,
  expectBooksBalanced,
  newCaller,
  startGateway,
  usageRows,
  v1,
  type Gateway,
} from '#test/helpers/gateway.ts';

describe.each(backends().slice(0, 1))('bodies that once broke the gateway ($label)', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend, { env: { CHANNEL_FAILURE_THRESHOLD: '2' } });
  });
  afterAll(() => g.close());

  const hello = [{ role: 'user', content: 'hi' }];

  it.each([
    ['a null message', { model: 'gpt-4o-mini', messages: [null] }, 'messages[0]', 'invalid_type'],
    ['a message that is a string', { model: 'gpt-4o-mini', messages: ['hi'] }, 'messages[0]', 'invalid_type'],
    [
      'max_tokens past any model',
      { model: 'gpt-4o-mini', messages: hello, max_tokens: 1e300 },
      'max_tokens',
      'integer_above_max_value',
    ],
    ['n past any use', { model: 'gpt-4o-mini', messages: hello, n: 1e15 }, 'n', 'integer_above_max_value'],
  ])('refuses %s with 400 naming the field, holding and charging nothing', async (_, body, param, code) => {
    const caller = await newCaller(g);
    const res = await v1(g, caller.secret, 'POST', '/v1/chat/completions', body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ error: Record<string, unknown> }>().error).toMatchObject({
      type: 'invalid_request_error',
      param,
      code,
      message: expect.stringContaining(`'${param}'`),
    });
    expect(await usageRows(g, caller.user.id)).toHaveLength(0);
    expect(await expectBooksBalanced(g, caller.user.id)).toBe(1000);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"hi"'],
    ['null', 'null'],
    ['a number', '5'],
  ])('refuses a body that is %s as before: 400, no field named', async (_, payload) => {
    const caller = await newCaller(g);
    const upstreamCalls = g.fake.stats.requests;
    for (const url of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/images/generations']) {
      const res = await v1(g, caller.secret, 'POST', url, payload, {
        headers: { 'content-type': 'application/json', 'accept-language': 'en' },
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toEqual({
        error: {
          message: 'Invalid request: body must be of type object',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
    }
    expect(g.fake.stats.requests).toBe(upstreamCalls);
    expect(await expectBooksBalanced(g, caller.user.id)).toBe(1000);
  });

  it('refuses a body nested too deeply to pass on with 400, and never blames the channel for it', async () => {
    const caller = await newCaller(g);
    const deep = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    for (let i = 0; i < 3; i++) {
      const res = await v1(g, caller.secret, 'POST', '/v1/chat/completions', deep, {
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    }
    expect(await channelView(g.t, g.admin, g.channelId)).toMatchObject({ autoDisabled: false, consecutiveFailures: 0 });
    const other = await newCaller(g);
    expect(
      (await v1(g, other.secret, 'POST', '/v1/chat/completions', { model: 'gpt-4o-mini', messages: hello })).statusCode,
    ).toBe(200);
    await expectBooksBalanced(g, caller.user.id);
  });
});

describe('a database or Redis that cannot be reached', () => {
  it('is 503 with Retry-After, not a 500', async () => {
    const app = Fastify();
    registerErrorHandling(app);
    app.get('/api/pg', () => Promise.reject(Object.assign(new Error('Connection terminated unexpectedly'), {})));
    app.get('/api/mysql', () =>
      Promise.reject(
        Object.assign(new Error('Connection lost: The server closed the connection.'), {
          code: 'PROTOCOL_CONNECTION_LOST',
        }),
      ),
    );
    app.get('/api/mysql-closed', () =>
      Promise.reject(
        Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
      ),
    );
    app.get('/api/redis', () =>
      Promise.reject(
        Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
      ),
    );
    // Node's error for a client that left in the middle of its body: ECONNRESET, but the client's.
    app.get('/api/client-left', () =>
      Promise.reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 })),
    );
    app.get('/api/bug', () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')")));
    for (const path of ['/api/pg', '/api/mysql', '/api/mysql-closed', '/api/redis']) {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ success: false, code: 'SERVICE_UNAVAILABLE' });
    }
    expect((await app.inject({ method: 'GET', url: '/api/bug' })).statusCode).toBe(500);
    expect((await app.inject({ method: 'GET', url: '/api/client-left' })).statusCode, 'not an outage').toBe(400);
    expect(isBackendUnavailable({ code: 'ECONNREFUSED' })).toBe(true);
    expect(isBackendUnavailable(new Error('nope'))).toBe(false);
    expect(
      isBackendUnavailable(
        Object.assign(new Error("Duplicate entry 'x' for key 'PRIMARY'"), { code: 'ER_DUP_ENTRY', fatal: false }),
      ),
    ).toBe(false);
    await app.close();
  });
});
