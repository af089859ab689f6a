import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestApp, type TestApp } from '#test/helpers/test-app.ts';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-AbC123.js"></script></head></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

/** A built console as Vite lays it out: index.html, hashed assets, a top-level icon. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-console-dist-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-XyZ789.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('serving the built console', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = fakeBuild();
    t = await createTestApp(undefined, { env: { CONSOLE_DIR: dir } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a browser asking for / gets the console; an API client keeps "Hello World!"', async () => {
    const browser = await call(t.app, 'GET', '/', { headers: HTML });
    expect(browser.statusCode).toBe(200);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    expect(browser.headers['cache-control']).toBe('no-cache');
    expect(browser.body).toBe(INDEX);
    // The page may run its own scripts and styles: the CSP allows same-origin scripts.
    expect(browser.headers['content-security-policy']).toMatch(/script-src 'self'/);

    for (const accept of [undefined, '*/*', 'application/json']) {
      const api = await call(t.app, 'GET', '/', { headers: accept ? { accept } : {} });
      expect(api.body, String(accept)).toBe('Hello World!');
    }
    const health = await call(t.app, 'GET', '/health', { headers: HTML });
    expect(health.json()).toMatchObject({ success: true, status: 'ok' });
  });

  it('every path under /dashboard and /admin answers index.html, so deep links survive a reload', async () => {
    for (const path of [
      '/dashboard',
      '/dashboard/',
      '/dashboard/keys',
      '/dashboard/usage?page=2',
      '/admin',
      '/admin/users/42',
    ]) {
      const res = await call(t.app, 'GET', path, { headers: HTML });
      expect(res.statusCode, path).toBe(200);
      expect(res.body, path).toBe(INDEX);
      expect(res.headers['cache-control'], path).toBe('no-cache');
    }
  });

  it('hashed assets come with their type and a year-long immutable cache, gzipped when asked', async () => {
    const script = await call(t.app, 'GET', '/assets/index-AbC123.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.body).toBe(SCRIPT);

    const zipped = await call(t.app, 'GET', '/assets/index-AbC123.js', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/accept-encoding/i);
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(SCRIPT);

    const style = await call(t.app, 'GET', '/assets/index-XyZ789.css');
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await call(t.app, 'GET', '/favicon.svg');
    expect(icon.headers['content-type']).toBe('image/svg+xml');
  });

  it('nothing outside the build can be fetched: unknown assets and traversal attempts are 404', async () => {
    for (const path of [
      '/assets/missing.js',
      '/assets/../index.html',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/index-AbC123.js/',
      '/index.html',
    ]) {
      const res = await call(t.app, 'GET', path);
      expect(res.statusCode, path).toBe(404);
      expect(res.body, path).not.toContain('"version"');
    }
  });
});

describe('before the console is built', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-console-empty-'));
    t = await createTestApp(undefined, { env: { CONSOLE_DIR: dir } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a browser is told how to build it (503); API clients and the API are unaffected', async () => {
    const page = await call(t.app, 'GET', '/dashboard/keys', { headers: HTML });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('npm run console:build');
    expect((await call(t.app, 'GET', '/')).body).toBe('Hello World!');
    expect((await call(t.app, 'GET', '/api/health')).statusCode).toBe(200);
  });
});
