import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, createTestApp, freshEmail, registerUser, type TestApp } from '#test/helpers/test-app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** The seed-001 error envelope, checked field by field. */
function expectEnvelope(
  res: { statusCode: number; json: () => unknown },
  status: number,
  error: string,
  message: string | RegExp,
  path: string,
) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as Record<string, unknown>;
  expect(body).toMatchObject({ success: false, statusCode: status, error, path });
  expect(body.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
  expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
}

describe('HTTP layer', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(undefined, { env: { BODY_LIMIT: '2048' } });
  });
  afterAll(() => t.close());

  describe('request id', () => {
    it('every response carries a fresh x-request-id (success, 4xx, 404)', async () => {
      const responses = [
        await call(t.app, 'GET', '/'),
        await call(t.app, 'GET', '/api/user/profile'),
        await call(t.app, 'GET', '/no/such/route'),
        await call(t.app, 'POST', '/api/auth/login', { body: '{', headers: JSON_HEADERS }),
        await call(t.app, 'GET', '/api/%zz'),
      ];
      const ids = responses.map((r) => r.headers['x-request-id']);
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('a well-formed incoming x-request-id is echoed', async () => {
      for (const id of ['trace-1:2.3_x', 'a'.repeat(64), 'Req-01HXYZ']) {
        const res = await call(t.app, 'GET', '/api/health', { headers: { 'x-request-id': id } });
        expect(res.headers['x-request-id']).toBe(id);
      }
      const refused = await call(t.app, 'GET', '/api/%zz', { headers: { 'x-request-id': 'trace-bad-url' } });
      expect(refused.headers['x-request-id']).toBe('trace-bad-url');
    });

    it('an invalid one (spaces, markup, too long) is replaced', async () => {
      for (const id of ['has spaces', '<script>alert(1)</script>', 'a'.repeat(65), 'line\u00e9break']) {
        const res = await call(t.app, 'GET', '/', { headers: { 'x-request-id': id } });
        expect(res.headers['x-request-id']).toMatch(UUID);
      }
    });
  });

  describe('security headers', () => {
    it('helmet headers on pages, JSON and errors; no HSTS and no https upgrade outside production', async () => {
      for (const res of [
        await call(t.app, 'GET', '/'),
        await call(t.app, 'GET', '/api/health'),
        await call(t.app, 'GET', '/nope'),
      ]) {
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['content-security-policy']).toContain("default-src 'self'");
        expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
        expect(res.headers['strict-transport-security']).toBeUndefined();
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    it('in production HSTS is sent', async () => {
      const prod = await createTestApp(undefined, { env: { NODE_ENV: 'production', MAIL_TRANSPORT: 'log' } });
      try {
        const res = await call(prod.app, 'GET', '/api/health');
        expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
        expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
      } finally {
        await prod.close();
      }
    });
  });

  describe('CORS', () => {
    it('none by default: no allow-origin for any origin, and preflights are not answered', async () => {
      const simple = await call(t.app, 'GET', '/api/health', { headers: { origin: 'https://console.example' } });
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await call(t.app, 'OPTIONS', '/api/auth/login', {
        headers: { origin: 'https://console.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('CORS_ORIGIN allows the listed origins (with credentials), and only them', async () => {
      const cors = await createTestApp(undefined, {
        env: { CORS_ORIGIN: 'https://console.example, https://admin.example' },
      });
      try {
        const preflight = await call(cors.app, 'OPTIONS', '/api/auth/login', {
          headers: {
            origin: 'https://admin.example',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type,authorization',
          },
        });
        expect(preflight.statusCode).toBe(204);
        expect(preflight.headers['access-control-allow-origin']).toBe('https://admin.example');
        expect(preflight.headers['access-control-allow-credentials']).toBe('true');
        expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');

        const simple = await call(cors.app, 'GET', '/api/health', { headers: { origin: 'https://console.example' } });
        expect(simple.headers['access-control-allow-origin']).toBe('https://console.example');
        expect(String(simple.headers['access-control-expose-headers'])).toContain('x-request-id');

        const other = await call(cors.app, 'GET', '/api/health', { headers: { origin: 'https://evil.example' } });
        expect(other.headers['access-control-allow-origin']).toBeUndefined();
      } finally {
        await cors.close();
      }
    });

    it('CORS_ORIGIN=* allows any origin, without credentials', async () => {
      const cors = await createTestApp(undefined, { env: { CORS_ORIGIN: '*' } });
      try {
        const res = await call(cors.app, 'GET', '/api/health', { headers: { origin: 'https://anyone.example' } });
        expect(res.headers['access-control-allow-origin']).toBe('https://anyone.example');
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      } finally {
        await cors.close();
      }
    });
  });

  describe('errors', () => {
    it('an unknown route is a 404 envelope', async () => {
      const res = await call(t.app, 'GET', '/api/nothing-here?x=1');
      expectEnvelope(res, 404, 'Not Found', '接口不存在：GET /api/nothing-here', '/api/nothing-here?x=1');
      expect(Object.keys(res.json())).toEqual(
        expect.arrayContaining(['success', 'statusCode', 'error', 'message', 'timestamp', 'path']),
      );
      const wrongMethod = await call(t.app, 'DELETE', '/api/health');
      expectEnvelope(wrongMethod, 404, 'Not Found', '接口不存在：DELETE /api/health', '/api/health');
    });

    it('a malformed URL is a 400 envelope', async () => {
      expectEnvelope(await call(t.app, 'GET', '/api/%zz'), 400, 'Bad Request', '请求地址无效', '/api/%zz');
    });

    it('malformed JSON, an empty JSON body and a prototype-poisoning body are 400 envelopes', async () => {
      const path = '/api/auth/login';
      expectEnvelope(
        await call(t.app, 'POST', path, { body: '{"email":', headers: JSON_HEADERS }),
        400,
        'Bad Request',
        '请求体不是有效的 JSON',
        path,
      );
      expectEnvelope(
        await call(t.app, 'POST', path, { body: '', headers: JSON_HEADERS }),
        400,
        'Bad Request',
        '请求体不能为空',
        path,
      );
      const poisoned = '{"__proto__":{"admin":true},"email":"a@example.com","password":"x"}';
      expectEnvelope(
        await call(t.app, 'POST', path, { body: poisoned, headers: JSON_HEADERS }),
        400,
        'Bad Request',
        '请求体不是有效的 JSON',
        path,
      );
    });

    it('an unsupported content type is a 415 envelope', async () => {
      const res = await call(t.app, 'POST', '/api/auth/login', {
        body: '<login/>',
        headers: { 'content-type': 'text/xml' },
      });
      expectEnvelope(res, 415, 'Unsupported Media Type', '不支持的 Content-Type：text/xml', '/api/auth/login');
    });

    it('a body over BODY_LIMIT is a 413 envelope and is not processed', async () => {
      const email = freshEmail('big');
      const big = JSON.stringify({ email, padding: 'x'.repeat(4096) });
      const res = await call(t.app, 'POST', '/api/auth/send-code', { body: big, headers: JSON_HEADERS });
      expectEnvelope(res, 413, 'Payload Too Large', '请求体过大', '/api/auth/send-code');
      expect(t.outbox()).toEqual([]);
      const form = await call(t.app, 'POST', '/api/auth/login', {
        body: `email=a%40example.com&password=${'x'.repeat(4096)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.statusCode).toBe(413);
    });

    it('Accept-Language: en switches messages to English', async () => {
      const lang = 'en';
      expectEnvelope(
        await call(t.app, 'GET', '/nope', { lang }),
        404,
        'Not Found',
        'Route GET /nope not found',
        '/nope',
      );
      expectEnvelope(
        await call(t.app, 'POST', '/api/auth/login', { body: '{', headers: JSON_HEADERS, lang }),
        400,
        'Bad Request',
        'The request body is not valid JSON',
        '/api/auth/login',
      );
      expectEnvelope(
        await call(t.app, 'GET', '/api/user/profile', { lang }),
        401,
        'Unauthorized',
        'Not signed in, or the session has expired',
        '/api/user/profile',
      );
      const validation = await call(t.app, 'POST', '/api/auth/login', {
        body: { email: 'a@example.com', password: 5 },
        lang,
      });
      expectEnvelope(
        validation,
        400,
        'Bad Request',
        /^Invalid request: password must be of type string$/,
        '/api/auth/login',
      );
      // Chinese stays the default when English is not preferred.
      expect((await call(t.app, 'GET', '/nope', { lang: 'zh-CN,zh;q=0.9,en;q=0.8' })).json().message).toBe(
        '接口不存在：GET /nope',
      );
    });
  });

  describe('API docs', () => {
    it('/api/docs serves the interactive UI, usable over plain HTTP', async () => {
      const res = await call(t.app, 'GET', '/api/docs');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('swagger-ui');
      expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      const asset = /src="\.?\/?([^"]*swagger-ui-bundle\.js)"/.exec(res.body)?.[1];
      expect(asset).toBeDefined();
      const script = await call(t.app, 'GET', `/api/docs/${asset!.replace(/^api\/docs\//, '')}`);
      expect(script.statusCode).toBe(200);
    });

    it('/api/docs/json is an OpenAPI 3 document listing the account routes', async () => {
      const res = await call(t.app, 'GET', '/api/docs/json');
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.info.title).toBe('Tollgate API');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/auth/login',
          '/api/auth/register',
          '/api/auth/send-code',
          '/api/user/profile',
          '/api/health',
        ]),
      );
      expect(
        doc.paths['/api/auth/login'].post.requestBody.content['application/json'].schema.properties,
      ).toHaveProperty('email');
      expect(doc.paths['/api/user/profile'].get.security).toEqual([{ bearer: [] }]);
    });

    it("/api/redoc is seed 002's ReDoc page, served whole from Tollgate (no CDN) over plain HTTP", async () => {
      const page = await call(t.app, 'GET', '/api/redoc');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('spec-url="/api/docs/json"');
      expect(page.body).not.toMatch(/(https?:)?\/\//);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toMatch(/worker-src 'self' blob:/);
      expect(csp).not.toContain('upgrade-insecure-requests');

      const src = /<script src="([^"]+)"/.exec(page.body)?.[1];
      expect(src).toMatch(/^\/api\/redoc\/redoc\.standalone\.js/);
      const bundle = await call(t.app, 'GET', src!);
      expect(bundle.statusCode).toBe(200);
      expect(bundle.headers['content-type']).toMatch(/^application\/javascript/);
      expect(bundle.headers['cache-control']).toContain('max-age=31536000');
      expect(bundle.body.length).toBeGreaterThan(100_000);

      const doc = (await call(t.app, 'GET', '/api/docs/json')).json();
      expect(Object.keys(doc.paths).filter((path) => path.startsWith('/api/redoc'))).toEqual([]);
    });
  });
});

describe.each(backends())('internal errors on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('a 5xx never leaks internals: the database destroyed under a running app', async () => {
    const user = await registerUser(t);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken })).statusCode).toBe(200);
    await t.app.services.database.destroy();

    for (const lang of [undefined, 'en']) {
      const res = await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken, ...(lang ? { lang } : {}) });
      expectEnvelope(
        res,
        500,
        'Internal Server Error',
        lang ? 'Internal server error' : '服务器内部错误',
        '/api/user/profile',
      );
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.body).not.toMatch(/destroyed|driver|sqlite|postgres|mysql|kysely|stack|at \w+ \(|\.ts:\d+/i);
      expect(Object.keys(res.json()).sort()).toEqual([
        'code',
        'error',
        'message',
        'path',
        'statusCode',
        'success',
        'timestamp',
      ]);
    }
  });
});
