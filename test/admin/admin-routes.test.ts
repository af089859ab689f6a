import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPath, routesOf, type RouteOperation } from '#test/reliability/fuzz/routes.ts';
import type { JsonSchema } from '#test/reliability/fuzz/schema-arbitrary.ts';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { TestProvider } from '#test/helpers/payments.ts';
import { png } from '#test/storage/images.ts';
import { ADMIN_KEY, ADMIN_KEY_ENV } from './helpers.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Bodies the schema alone cannot make valid (a rule of the service's); every other body is made from the schema. */
const BODIES: Record<string, unknown> = {
  'PUT /api/admin/users/:id/plan': { level: 1, days: 30 },
  'PUT /v1/admin/users/:id/vip': { level: 1, days: 30 },
  'POST /v1/admin/templates/params': { name: 'matrix', category: 'matrix', mode: 'fast', resolution: '512x512' },
  'PUT /v1/admin/templates/params/:id': { resolution: '768x768' },
  'POST /api/admin/channels': {
    name: 'matrix',
    baseUrl: 'http://127.0.0.1:9/v1',
    apiKey: 'sk-matrix-1',
    models: ['m'],
  },
};

/** A small valid value of `schema` (the route's JSON schema from the OpenAPI document), for a body that passes validation. */
function sampleOf(schema: JsonSchema | undefined, name = ''): unknown {
  if (!schema) return undefined;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return sampleOf(options.find((o) => o.type !== 'null') ?? options[0], name);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = sampleOf(schema.properties?.[key], key);
      // A body that must name something (`minProperties`) gets its first field.
      const first = Object.keys(schema.properties ?? {})[0];
      if (Object.keys(out).length === 0 && (schema as { minProperties?: number }).minProperties && first)
        out[first] = sampleOf(schema.properties![first], first);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleOf(schema.items, name));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, Math.min(1, schema.maximum ?? 1));
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'email') return `matrix-${Date.now().toString(36)}@example.com`;
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (schema.pattern?.startsWith('^https?')) return 'http://127.0.0.1:9/v1';
      return `matrix-${name}`.slice(0, schema.maxLength ?? 64);
    default:
      return {};
  }
}

/**
 * Every admin route the app serves, found by asking it (OpenAPI document, then: no credentials → 401,
 * a plain user → 403), so routes added later are covered without being listed here. Each is tried
 * with the admin key, an admin's session, a plain user's session, a wrong key and nothing; every
 * state-changing one that succeeds has its audit row, written before the answer.
 */
describe.each(backends())('every admin route on $label', (backend) => {
  let t: TestApp;
  const payments = new TestProvider('wechat');
  let admin: string;
  let user: RegisteredUser;
  let routes: RouteOperation[];
  let batch: { batchId: string; codeId: string };
  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV, overrides: { paymentProviders: [payments] } });
    admin = await adminToken(t);
    user = await registerUser(t);
    const made = (
      await call(t.app, 'POST', '/api/admin/redeem-codes', { token: admin, body: { count: 1, credits: 1 } })
    ).json<{ batchId: string; codes: Array<{ id: string }> }>();
    batch = { batchId: made.batchId, codeId: made.codes[0]!.id };
    routes = [];
    // A logout probe would end the session the other probes use; it is no admin route anyway.
    for (const route of (await routesOf(t.app)).filter((r) => !r.path.endsWith('/logout'))) {
      const url = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, 'probe'])));
      const anonymous = await call(t.app, route.method, url, {
        body: route.body ? {} : undefined,
        ip: freshIp(),
      });
      if (anonymous.statusCode !== 401) continue;
      const asUser = await call(t.app, route.method, url, {
        token: user.accessToken,
        body: route.body ? {} : undefined,
        ip: freshIp(),
      });
      if (asUser.statusCode === 403) routes.push(route);
    }
  });
  afterAll(() => t.close());

  /**
   * The route's URL with real things to act on, made anew for each request (a DELETE ends one): an
   * account (holding a plan when one is to be ended), a plan, a channel, a price, seed 002's Dify app;
   * and the redeem batch.
   */
  const urlOf = async (route: RouteOperation): Promise<string> => {
    if (route.path.startsWith('/api/admin/orders/')) {
      // A refund needs an order that was paid (the test-only provider of test/helpers/payments.ts).
      const buyer = await registerUser(t);
      const { order } = await t.app.services.orders.createOrder({
        userId: buyer.id,
        item: { kind: 'credits', packId: 'small' },
        channel: 'wechat_native',
      });
      await t.app.services.orders.confirmPaid(payments.pay(order.order_no), null);
      return fillPath(route.path, { orderId: order.id });
    }
    const values: Record<string, string> = {};
    if (route.path.includes('/pricing/'))
      await call(t.app, 'PUT', '/api/admin/pricing/matrix-model', { token: admin, body: { perRequest: 1 } });
    if (route.path.includes('/dify/config'))
      await call(t.app, 'POST', '/api/v1/admin/dify/config', { token: admin, body: { api_key: 'app-matrix-1' } });
    for (const param of route.pathParams) {
      if (/\/users\/:id\/(plan|vip)$/.test(route.path) && route.method === 'DELETE') {
        // Ending a plan needs a user who holds one.
        values[param] = (await registerUser(t)).id;
        const url = `/api/admin/users/${values[param]}/plan`;
        await call(t.app, 'PUT', url, { token: admin, body: BODIES['PUT /api/admin/users/:id/plan'] });
      } else if (/\/users\/:id/.test(route.path)) values[param] = (await registerUser(t)).id;
      else if (route.path.startsWith('/api/admin/plans/')) {
        const code = `matrix-${Math.random().toString(36).slice(2, 10)}`;
        const plan = { code, name: code, level: 1, price: 100, durationDays: 30 };
        values[param] = (await call(t.app, 'POST', '/api/admin/plans', { token: admin, body: plan })).json<{
          id: string;
        }>().id;
      } else if (route.path.includes('/channels/'))
        values[param] = (
          await call(t.app, 'POST', '/api/admin/channels', { token: admin, body: BODIES['POST /api/admin/channels'] })
        ).json<{ id: string }>().id;
      else if (route.path.startsWith('/v1/admin/templates/prompts/'))
        values[param] = (await t.app.services.templates.createPrompt({ title: 'm', prompt: 'm', category: 'm' })).id;
      else if (route.path.startsWith('/v1/admin/templates/params/'))
        values[param] = (
          await t.app.services.templates.createParam({ name: 'm', category: 'm', mode: 'fast', resolution: '512x512' })
        ).id;
      else if (route.path.startsWith('/v1/admin/gallery/images/')) {
        const upload = await t.app.services.storage.upload(user.id, png(4, 4));
        const body = { imageId: upload.id, title: 'm', category: 'other' as const, prompt: 'm' };
        values[param] = (await t.app.services.gallery.publish(user.id, body)).id;
      } else if (route.path.includes('/redeem-batches/')) values[param] = batch.batchId;
      else if (route.path.includes('/redeem-codes/')) values[param] = batch.codeId;
      else if (param === 'model') values[param] = 'matrix-model';
      else values[param] = 'matrix-unknown';
    }
    return fillPath(route.path, values);
  };
  const send = async (route: RouteOperation, url: string, headers: Record<string, string>, token?: string) =>
    call(t.app, route.method, url, {
      headers,
      ip: freshIp(),
      ...(token ? { token } : {}),
      ...(route.body ? { body: (BODIES[`${route.method} ${route.path}`] ?? sampleOf(route.body)) as object } : {}),
    });

  it('finds the admin routes of every surface, all under an admin prefix', () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      'GET /api/admin/users',
      'DELETE /api/admin/users/:id',
      'GET /api/admin/audit',
      'GET /v1/admin/users',
      'GET /v1/admin/stats',
      'POST /api/admin/users/:id/credits',
      'PUT /api/admin/pricing/:model',
      'POST /v1/admin/templates/prompts',
      'PUT /v1/admin/templates/params/:id',
      'DELETE /v1/admin/templates/prompts/:id',
    ])
      expect(paths).toContain(expected);
    expect(routes.filter((r) => !/^\/(api\/|api\/v1\/|v1\/)admin\//.test(r.path))).toEqual([]);
  });

  it('refuses a plain user (403), a wrong key (401) and no credentials (401) on each', async () => {
    for (const route of routes) {
      const url = await urlOf(route);
      const label = `${route.method} ${route.path}`;
      expect((await send(route, url, {}, user.accessToken)).statusCode, `${label} as a user`).toBe(403);
      expect((await send(route, url, { 'x-admin-key': `${ADMIN_KEY}-wrong` })).statusCode, `${label} wrong key`).toBe(
        401,
      );
      expect((await send(route, url, {})).statusCode, `${label} with nothing`).toBe(401);
    }
  });

  it('lets in the admin key and an admin session on each; every change that succeeds has its audit row', async () => {
    const db = t.app.services.database.db;
    const adminId = (await call(t.app, 'GET', '/api/user/profile', { token: admin })).json<{ id: string }>().id;
    const changed: string[] = [];
    for (const route of routes) {
      for (const [how, headers, token] of [
        ['the key', { 'x-admin-key': ADMIN_KEY }, undefined],
        ['a session', {}, admin],
      ] as const) {
        const label = `${route.method} ${route.path} with ${how}`;
        const requestId = `matrix-${changed.length}-${Math.random().toString(36).slice(2, 10)}`;
        const res = await send(route, await urlOf(route), { ...headers, 'x-request-id': requestId }, token);
        expect([401, 403].includes(res.statusCode) ? res.body : 'let in', label).toBe('let in');
        expect(res.statusCode, `${label}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (route.method === 'GET' && route.pathParams.length === 0) expect(res.statusCode, label).toBe(200);
        const rows = await db.selectFrom('audit_log').selectAll().where('request_id', '=', requestId).execute();
        if (STATE_CHANGING.has(route.method) && res.statusCode < 300) {
          expect(rows, label).toHaveLength(1);
          expect(rows[0], label).toMatchObject({
            actor_kind: how === 'the key' ? 'adminkey' : 'session',
            actor_user_id: how === 'the key' ? null : adminId,
            method: route.method,
            route: route.path,
            status: res.statusCode,
          });
          changed.push(`${route.method} ${route.path}`);
        } else {
          expect(rows, label).toHaveLength(0);
        }
      }
    }
    // The matrix is not vacuous: every state-changing route did change something with a sample body.
    const unchanged = routes
      .filter((r) => STATE_CHANGING.has(r.method))
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !changed.includes(r));
    expect(unchanged).toEqual([]);
  });
});
