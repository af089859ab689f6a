import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classify } from './fuzz/classify.ts';
import { startFuzzApp, type FuzzApp } from './fuzz/fuzz-app.ts';
import { sendBadInput } from './fuzz/rejection.ts';
import { fillPath, routesOf, type Access, type RouteOperation } from './fuzz/routes.ts';
import { MODEL } from './support/pricing.ts';
import { Tally } from './tally.ts';

type Route = RouteOperation & { access: Access };

const BODY_LIMIT = 16_384;
const GATEWAY_BODY_LIMIT = 131_072;
const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/**
 * The inputs a schema-driven fuzzer does not produce: bodies past the size limit, nested thousands of
 * levels deep, bytes that are not UTF-8, content types that lie, multipart uploads whose file names
 * climb out of their folder, static-file paths that try the same, and headers carrying CRLF. Sent to
 * every route that takes them, as the caller the route is for (so the input is really parsed).
 */
describe('oversized, nested, non-UTF-8, mislabelled, traversing and header-injecting inputs', () => {
  const tally = new Tally('fuzzing: raw inputs');
  let f: FuzzApp;
  let routes: Route[];
  let withBody: Route[];
  const mark = { value: 0 };

  beforeAll(async () => {
    // The channel is never taken out here, so the deep-body defect below stays observable and harmless.
    f = await startFuzzApp(tally, { CHANNEL_FAILURE_THRESHOLD: '1000000' });
    routes = [];
    for (const route of await routesOf(f.t.app)) routes.push({ ...route, access: await classify(f, route) });
    withBody = routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
    mark.value = tally.mark;
  });
  afterAll(async () => {
    await f?.close();
    tally.save(inject('tallyDir'));
  });

  const urlOf = (route: Route) =>
    fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, p === 'model' ? MODEL : f.idPool[0]!])));
  const modeOf = (route: Route) => (route.access === 'public' ? 'none' : route.access);
  const isGateway = (route: Route) => /^\/(api\/)?v1\//.test(route.path);
  const clean = () => {
    expect(tally.since(mark.value)).toEqual([]);
    mark.value = tally.mark;
  };

  it('bodies past the limit are refused with 413 before anything is parsed', async () => {
    let refused = 0;
    for (const route of withBody) {
      const limit = isGateway(route) ? GATEWAY_BODY_LIMIT : BODY_LIMIT;
      const payload = JSON.stringify({ model: MODEL, pad: 'x'.repeat(limit + 1) });
      const response = await sendBadInput(f, `oversized ${route.method} ${route.path}`, modeOf(route), {
        method: route.method,
        url: urlOf(route),
        headers: { 'content-type': 'application/json' },
        payload,
      });
      if (response.statusCode === 413) refused += 1;
    }
    tally.note(
      `oversized bodies: ${refused} of ${withBody.length} routes answered 413 (the others have a larger limit of their own and refused the body otherwise)`,
    );
    clean();
  });

  it('deeply nested bodies are refused or handled, never a crash', async () => {
    for (const route of withBody) {
      for (const depth of [64, 2_000, isGateway(route) ? 20_000 : 6_000]) {
        const payload = `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"deep":${nest(depth)}}`;
        await sendBadInput(f, `nested ${depth} ${route.method} ${route.path}`, modeOf(route), {
          method: route.method,
          url: urlOf(route),
          headers: { 'content-type': 'application/json' },
          payload,
        });
      }
    }
    clean();
  });

  it('bytes that are not UTF-8, in bodies, query strings and paths', async () => {
    const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x28, 0x8c, 0x28]);
    for (const route of routes) {
      const url = urlOf(route);
      if (['POST', 'PUT', 'PATCH'].includes(route.method)) {
        const payload = Buffer.concat([
          Buffer.from('{"email":"a'),
          bad,
          Buffer.from('@example.com","name":"'),
          bad,
          Buffer.from('","code":"'),
          bad,
          Buffer.from('"}'),
        ]);
        await sendBadInput(f, `non-UTF-8 body ${route.method} ${route.path}`, modeOf(route), {
          method: route.method,
          url,
          headers: { 'content-type': 'application/json' },
          payload,
        });
      }
      await sendBadInput(f, `non-UTF-8 query ${route.method} ${route.path}`, modeOf(route), {
        method: route.method,
        url: `${url}?page=%ff%fe&email=%c3%28&days=%ed%a0%80`,
      });
      if (route.pathParams.length > 0) {
        const trick = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, '%ff%c3%28%00'])));
        await sendBadInput(f, `non-UTF-8 path ${route.method} ${route.path}`, modeOf(route), {
          method: route.method,
          url: trick,
        });
      }
    }
    clean();
  });

  it('content types that lie, and JSON that is cut or padded', async () => {
    const variants: Array<[string, string | Buffer]> = [
      ['text/plain', '{"email":"a@example.com"}'],
      ['application/xml', '<a>1</a>'],
      ['application/json; charset=utf-16', '{"a":1}'],
      ['application/json', ''],
      ['application/json', '{"email":'],
      ['application/json', '\uFEFF{"email":"a@example.com"}'],
      ['application/json', '{"a":1,"a":2,"__proto__":{"admin":true}}'],
      ['application/json', '[1,2,3]'],
      ['application/json', 'null'],
      ['application/x-www-form-urlencoded', 'email=a%40example.com&email=b&__proto__[admin]=1'],
      ['multipart/form-data; boundary=nope', '--nope\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n'],
    ];
    for (const route of withBody) {
      for (const [type, payload] of variants) {
        await sendBadInput(
          f,
          `${type} ${JSON.stringify(String(payload).slice(0, 30))} ${route.method} ${route.path}`,
          modeOf(route),
          { method: route.method, url: urlOf(route), headers: { 'content-type': type }, payload },
        );
      }
    }
    clean();
  });

  it('uploads whose file names climb out of their folder write nothing anywhere', async () => {
    const marker = `tollgate-pwned-${randomBytes(4).toString('hex')}`;
    const names = [
      `../../../../../../tmp/${marker}`,
      `/tmp/${marker}`,
      `..\\..\\..\\${marker}`,
      `${marker}%00.png`,
      `....//....//${marker}`,
      `${'a'.repeat(300)}.png`,
      `\r\n${marker}`,
    ];
    const dataBefore = readdirSync(f.t.dataDir).sort();
    let uploads = 0;
    for (const route of withBody) {
      for (const name of names) {
        const boundary = `----tollgate${randomBytes(6).toString('hex')}`;
        const payload = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nsomeone-else\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name.replace(/"/g, '')}"\r\nContent-Type: image/png\r\n\r\n\x89PNG fake bytes\r\n--${boundary}--\r\n`,
          'latin1',
        );
        uploads += 1;
        await sendBadInput(f, `upload "${name.slice(0, 40)}" to ${route.method} ${route.path}`, modeOf(route), {
          method: route.method,
          url: urlOf(route),
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          payload,
        });
      }
    }
    const written = [
      join(tmpdir(), marker),
      join('/tmp', marker),
      join(process.cwd(), marker),
      join(f.t.dataDir, marker),
    ].filter((path) => existsSync(path));
    tally.check(written.length === 0, `an upload wrote ${written.join(', ')}`);
    const dataAfter = readdirSync(f.t.dataDir).sort();
    tally.check(
      JSON.stringify(dataAfter) === JSON.stringify(dataBefore),
      `uploads changed DATA_DIR: ${dataBefore.join(',')} → ${dataAfter.join(',')}`,
    );
    tally.note(
      `${uploads} multipart uploads with traversing file names to ${withBody.length} routes; nothing written outside the database`,
    );
    clean();
  });

  it('static-file paths that climb out of the docs folder serve nothing of the server', async () => {
    const tricks = [
      '/api/docs/static/../../../package.json',
      '/api/docs/static/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/api/docs/static/..%2f..%2f..%2fpackage.json',
      '/api/docs/static/%252e%252e/%252e%252e/package.json',
      '/api/docs/static/....//....//package.json',
      '/api/docs/static/..\\..\\..\\package.json',
      '/api/docs/static/%00../../package.json',
      '/api/docs/static//etc/passwd',
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/api/docs/static/../../../.env',
      '/api/docs/static/../../../data/secrets.json',
    ];
    for (const url of tricks) {
      const response = await sendBadInput(f, `static ${url}`, 'none', { method: 'GET', url });
      tally.check(
        !/"name":\s*"tollgate"|root:x:0:0|jwtSecret|masterKey/.test(response.body),
        `${url} served a file of the server (${response.statusCode})`,
      );
    }
    clean();
  });

  it('CRLF and oversize values in headers never reach a response header', async () => {
    const injected = {
      'x-request-id': 'abc\r\nx-injected: 1',
      'accept-language': 'en\r\nSet-Cookie: injected=1',
      'user-agent': 'ua\r\nx-injected: 2',
      origin: 'https://evil.example\r\nx-injected: 3',
      cookie: 'tg_access=x\r\nx-injected: 4',
      'x-forwarded-for': '1.2.3.4\r\nx-injected: 5',
      'x-forwarded-host': 'evil.example\r\nx-injected: 6',
      'idempotency-key': 'k\r\nx-injected: 7',
      referer: 'x'.repeat(8_000),
    };
    for (const route of routes) {
      const response = await sendBadInput(f, `header injection ${route.method} ${route.path}`, modeOf(route), {
        method: route.method,
        url: urlOf(route),
        headers: injected,
      });
      const headers = Object.entries(response.headers);
      const bad = headers.filter(
        ([name, value]) =>
          name.startsWith('x-injected') ||
          /[\r\n]/.test(String(value)) ||
          (name === 'set-cookie' && String(value).includes('injected')),
      );
      tally.check(
        bad.length === 0,
        `${route.method} ${route.path}: injected header reached the response: ${JSON.stringify(bad)}`,
      );
      tally.check(
        response.headers['x-request-id'] !== injected['x-request-id'],
        `${route.method} ${route.path}: a CRLF request id was echoed`,
      );
    }
    clean();
  });
});
