import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, createTestApp, type TestApp } from '#test/helpers/test-app.ts';

describe.each(backends())('health on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('GET / answers Hello World!', async () => {
    const res = await call(t.app, 'GET', '/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('Hello World!');
  });

  it.each(['/api/health', '/health'])('GET %s has the seed 001 §6 shape plus the database and Redis', async (path) => {
    const res = await call(t.app, 'GET', path);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      success: true,
      status: 'ok',
      environment: 'test',
      database: { status: 'up', kind: backend.dialect },
      redis: { status: backend.kv === 'redis' ? 'up' : 'disabled' },
    });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(typeof body.uptime).toBe('number');
    expect(body.uptime).toBeGreaterThan(0);
    expect(typeof body.database.latencyMs).toBe('number');
    if (backend.kv === 'redis') expect(typeof body.redis.latencyMs).toBe('number');
    expect(Object.keys(body).sort()).toEqual([
      'database',
      'environment',
      'redis',
      'status',
      'success',
      'timestamp',
      'uptime',
    ]);
  });

  it('needs no credentials and is listed in the API docs', async () => {
    const doc = (await call(t.app, 'GET', '/api/docs/json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/', '/api/health', '/health']));
    const withBadToken = await call(t.app, 'GET', '/api/health', { token: 'not-a-token' });
    expect(withBadToken.statusCode).toBe(200);
  });
});

describe.each(backends())('health with a dependency down on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('database gone → 503 on both paths, status error, database down', async () => {
    await t.app.services.database.destroy();
    for (const path of ['/api/health', '/health']) {
      const res = await call(t.app, 'GET', path);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        success: false,
        status: 'error',
        environment: 'test',
        database: { status: 'down', kind: backend.dialect },
      });
      expect(res.json().database.latencyMs).toBeUndefined();
    }
  });
});

describe.each(backends().filter((b) => b.kv === 'redis'))('health with Redis down on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('Redis gone → 503, status error, redis down, database still up', async () => {
    await t.app.services.kv.close();
    const res = await call(t.app, 'GET', '/api/health');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      success: false,
      status: 'error',
      database: { status: 'up' },
      redis: { status: 'down' },
    });
  });
});
