import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorHandler } from '#core/http/before-routing.ts';
import { parseResponses, rawExchange as exchange, type RawResponse } from '#test/helpers/raw-http.ts';
import { backends, call, createTestApp, type TestApp } from '#test/helpers/test-app.ts';

/** Seed 001's envelope with the given status and code, and the request id that names it in the log. */
function expectEnvelope(
  response: RawResponse | undefined,
  status: number,
  code: string,
  path: string,
  message?: string,
) {
  expect(response, 'a response').toBeDefined();
  expect(response!.status).toBe(status);
  expect(response!.headers['content-type']).toMatch(/^application\/json/);
  expect(response!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  const body = JSON.parse(response!.body) as Record<string, unknown>;
  expect(body).toMatchObject({ success: false, statusCode: status, code, path });
  if (message) expect(body.message).toBe(message);
  expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
}

/**
 * Issue 15, item 4: what Node's HTTP parser or Fastify answers before any route runs (a 20 KB header,
 * a body longer than its Content-Length, bytes that are not HTTP, a request while the server closes)
 * came out in Fastify's own body. Each is now seed 001's envelope, with a request id.
 */
describe.each(backends().slice(0, 1))('answers given before routing ($label)', (backend) => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp(backend);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it('a 20 KB header is 431 in the envelope, in English when asked, and the connection is closed', async () => {
    const request = `GET /api/health HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const [response, ...more] = await exchange(port, request);
    expectEnvelope(response, 431, 'HEADERS_TOO_LARGE', '/api/health', 'The request headers are too large');
    expect(response!.headers.connection).toBe('close');
    expect(more).toEqual([]);
  });

  it('a body longer than its Content-Length: every answer on the connection is an envelope, the stray bytes a 400', async () => {
    const body = '{"email":"a@example.com","password":"x"}';
    const request = `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n${body}`;
    const responses = await exchange(port, request);
    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses)
      expect(JSON.parse(response.body)).toMatchObject({ success: false, statusCode: response.status });
    const last = responses.at(-1)!;
    // The path is the request the stray bytes came behind.
    expectEnvelope(last, 400, 'MALFORMED_REQUEST', '/api/auth/login', '请求不是有效的 HTTP 请求');
    expect(last.headers.connection).toBe('close');
  });

  it.each([
    ['bytes that are not HTTP', 'HELLO THERE\r\n\r\n', ''],
    [
      'both Content-Length and Transfer-Encoding',
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      '/api/auth/login',
    ],
    [
      'a bad chunk size',
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      '/api/auth/login',
    ],
    [
      'a header line without a colon',
      'GET /api/health HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n',
      '/api/health',
    ],
  ])('%s is 400 MALFORMED_REQUEST in the envelope', async (_, request, path) => {
    const responses = await exchange(port, request);
    expect(responses).toHaveLength(1);
    expectEnvelope(responses[0], 400, 'MALFORMED_REQUEST', path);
    expect(responses[0]!.headers.connection).toBe('close');
  });

  it('a /v1 request HTTP refuses is answered in OpenAI’s shape, as the 404 of that surface is', async () => {
    const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const [response] = await exchange(port, request);
    expect(response!.status).toBe(431);
    expect(JSON.parse(response!.body)).toEqual({
      error: { message: 'The request headers are too large', type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('a body shorter than its Content-Length, then the end of what the client sends, is a 400 envelope', async () => {
    const request =
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":';
    const responses = await exchange(port, request, { end: true });
    expect(responses).toHaveLength(1);
    // The parser's error at the end of the stream carries no bytes of the request: no path to name.
    expectEnvelope(responses[0], 400, 'MALFORMED_REQUEST', '');
  });

  it('a Content-Length the body does not match (the parser’s own check) is a 400 envelope', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json', 'content-length': '5' },
      payload: '{"email":"a@example.com"}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      path: '/api/auth/login',
    });
  });

  it('unknown routes, an unknown method, a bad URL, a wrong type and a body too large stay envelopes', async () => {
    expect((await call(t.app, 'GET', '/nope')).json()).toMatchObject({
      success: false,
      statusCode: 404,
      code: 'ROUTE_NOT_FOUND',
    });
    expect((await call(t.app, 'PATCH', '/api/health')).json()).toMatchObject({
      success: false,
      statusCode: 404,
      code: 'ROUTE_NOT_FOUND',
    });
    expect((await call(t.app, 'GET', '/api/%zz')).json()).toMatchObject({
      success: false,
      statusCode: 400,
      code: 'BAD_URL',
    });
    const xml = await call(t.app, 'POST', '/api/auth/login', { body: '<a/>', headers: { 'content-type': 'text/xml' } });
    expect(xml.json()).toMatchObject({ success: false, statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const big = await call(t.app, 'POST', '/api/auth/login', {
      body: JSON.stringify({ email: 'x'.repeat(2_000_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.json()).toMatchObject({ success: false, statusCode: 413, code: 'BODY_TOO_LARGE' });
  });
});

describe('clientErrorHandler', () => {
  it('answers a request that did not arrive in time 408, and writes nothing on a socket already gone', () => {
    const written: string[] = [];
    const socket = {
      writable: true,
      destroyed: false,
      write: (text: string) => written.push(text),
      destroy: () => undefined,
    };
    const app = { log: { info: () => undefined } };
    clientErrorHandler.call(
      app as never,
      Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
      socket as never,
    );
    expect(written[0]).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body = JSON.parse(written[0]!.slice(written[0]!.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ success: false, statusCode: 408, code: 'REQUEST_TIMEOUT', path: '' });
    clientErrorHandler.call(app as never, Object.assign(new Error('reset'), { code: 'ECONNRESET' }), socket as never);
    clientErrorHandler.call(app as never, Object.assign(new Error('bad'), { code: 'HPE_INVALID_METHOD' }), {
      ...socket,
      destroyed: true,
    } as never);
    expect(written).toHaveLength(1);
  });
});

describe('a request that arrives while the server closes', () => {
  it('is 503 SERVICE_UNAVAILABLE in the envelope with Connection: close, while the call in flight finishes', async () => {
    const t = await createTestApp();
    const closing: { done?: Promise<void> } = {};
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as AddressInfo).port;
      // A sign-in that waits until released keeps its connection busy (not idle) while the server closes.
      let release: () => void = () => undefined;
      let entered: () => void = () => undefined;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const auth = t.app.services.auth;
      const login = auth.login.bind(auth);
      auth.login = async (...args) => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
        return login(...args);
      };
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      const ended = new Promise((resolve) => socket.once('close', resolve));
      const body = '{"email":"a@example.com","password":"x"}';
      socket.write(
        `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      await inside;
      closing.done = t.app.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      await ended;
      const [first, second] = parseResponses(Buffer.concat(chunks));
      expect(first!.status, 'the call in flight is answered').toBe(401);
      expectEnvelope(second, 503, 'SERVICE_UNAVAILABLE', '/api/health', 'Service temporarily unavailable');
      expect(second!.headers.connection).toBe('close');
    } finally {
      await closing.done;
      await t.close().catch(() => undefined);
    }
  });
});
