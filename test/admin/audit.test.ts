import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { ADMIN_KEY_ENV, auditLog, withKey, type AuditItemView } from './helpers.ts';

describe.each(backends())('the audit log on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let adminId: string;
  let user: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    admin = await adminToken(t);
    adminId = (await call(t.app, 'GET', '/api/user/profile', { token: admin })).json<{ id: string }>().id;
    user = await registerUser(t);
  });
  afterAll(() => t.close());

  const rows = () => t.app.services.database.db.selectFrom('audit_log').selectAll().execute();

  it('a credit adjustment by an admin session is one row, written before the answer: actor, route, target, balance before and after', async () => {
    const before = (await t.app.services.credits.account(user.id)).balance;
    const res = await call(t.app, 'POST', `/api/admin/users/${user.id}/credits`, {
      token: admin,
      body: { amount: -40, reason: 'refund reversed' },
      ip: '198.51.100.23',
      headers: { 'x-request-id': 'audit-req-1' },
    });
    expect(res.statusCode, res.body).toBe(200);
    // Read at once: the row is there when the answer is.
    const row = (await rows()).find((r) => r.request_id === 'audit-req-1');
    expect(row).toBeDefined();
    const [item] = await auditLog(t.app, `targetId=${user.id}`);
    expect(item).toMatchObject({
      actor: { kind: 'session', userId: adminId },
      action: 'POST /api/admin/users/:id/credits',
      method: 'POST',
      route: '/api/admin/users/:id/credits',
      params: { id: user.id },
      target: { type: 'user', id: user.id },
      before: { balance: before },
      after: { balance: before - 40, amount: -40, reason: 'refund reversed' },
      status: 200,
      ip: '198.51.100.23',
      requestId: 'audit-req-1',
    });
  });

  it('a replayed adjustment (same Idempotency-Key) is logged with the same balance before and after', async () => {
    const send = () =>
      call(t.app, 'POST', `/api/admin/users/${user.id}/credits`, {
        token: admin,
        body: { amount: 5, reason: 'once' },
        headers: { 'idempotency-key': 'audit-once' },
      });
    await send();
    const balance = (await t.app.services.credits.account(user.id)).balance;
    expect((await send()).statusCode).toBe(200);
    const [replay] = await auditLog(t.app, `targetId=${user.id}`);
    expect(replay).toMatchObject({ before: { balance }, after: { balance, amount: 0 } });
  });

  it('refused requests write nothing: a user, a bad body, a missing target', async () => {
    const count = (await rows()).length;
    expect((await call(t.app, 'PUT', '/api/admin/pricing/x', { token: user.accessToken, body: {} })).statusCode).toBe(
      403,
    );
    expect(
      (await call(t.app, 'POST', `/api/admin/users/${user.id}/credits`, { token: admin, body: { amount: 'lots' } }))
        .statusCode,
    ).toBe(400);
    expect((await call(t.app, 'DELETE', '/api/admin/pricing/never-priced', { token: admin })).statusCode).toBe(404);
    expect((await rows()).length).toBe(count);
  });

  it('reads are not logged; prices, channels and redeem codes are, with before/after and no secret', async () => {
    const count = (await rows()).length;
    await call(t.app, 'GET', '/api/admin/channels', { token: admin });
    expect((await rows()).length).toBe(count);

    await withKey(t.app, 'PUT', '/api/admin/pricing/audit-model', { body: { perRequest: 2 } });
    await withKey(t.app, 'PUT', '/api/admin/pricing/audit-model', { body: { perRequest: 3 } });
    const [price] = await auditLog(t.app, 'targetType=price&targetId=audit-model');
    expect(price).toMatchObject({
      actor: { kind: 'adminkey', userId: null },
      before: { model: 'audit-model', perRequest: 2 },
      after: { model: 'audit-model', perRequest: 3 },
    });

    const secret = 'sk-audit-upstream-secret-0123456789';
    const created = await call(t.app, 'POST', '/api/admin/channels', {
      token: admin,
      body: { name: 'audited', baseUrl: 'http://127.0.0.1:9/v1', apiKey: secret, models: ['m'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await call(t.app, 'PATCH', `/api/admin/channels/${id}`, {
      token: admin,
      body: { apiKey: `${secret}-rotated`, weight: 5 },
    });
    await call(t.app, 'DELETE', `/api/admin/channels/${id}`, { token: admin });
    const channel = await auditLog(t.app, `targetType=channel&targetId=${id}`);
    expect(channel.map((r) => r.method)).toEqual(['DELETE', 'PATCH', 'POST']);
    expect(channel[1]).toMatchObject({ before: { weight: 1 }, after: { weight: 5, secretChanged: true } });
    const everything = JSON.stringify(await rows());
    expect(everything).not.toContain(secret);

    const batch = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 2, credits: 9 },
    });
    const { batchId, codes } = batch.json<{ batchId: string; codes: Array<{ code: string }> }>();
    const [made] = await auditLog(t.app, `targetType=redeem_batch&targetId=${batchId}`);
    expect(made).toMatchObject({ after: { count: 2, credits: 9 } });
    const logged = JSON.stringify(await rows());
    for (const { code } of codes) expect(logged).not.toContain(code);
  });

  it('filters by actor, action, target and time, and pages by page or by cursor, newest first', async () => {
    const mine = await auditLog(t.app, `actor=${adminId}`);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.actor.userId === adminId)).toBe(true);
    const byKey = await auditLog(t.app, 'actor=adminkey');
    expect(byKey.length).toBeGreaterThan(0);
    expect(byKey.every((r) => r.actor.kind === 'adminkey')).toBe(true);
    const action = 'PUT /api/admin/pricing/:model';
    expect((await auditLog(t.app, `action=${encodeURIComponent(action)}`)).every((r) => r.action === action)).toBe(
      true,
    );

    const all = await auditLog(t.app);
    const times = all.map((r) => Date.parse(r.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const future = new Date(t.clock.now() + 1000).toISOString();
    expect(await auditLog(t.app, `from=${encodeURIComponent(future)}`)).toEqual([]);
    expect((await auditLog(t.app, `to=${encodeURIComponent(future)}`)).length).toBe(all.length);

    // Cursor: pages of 2 give every row once, in order, while new rows are added meanwhile.
    const seen: AuditItemView[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const res = await withKey(t.app, 'GET', `/api/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json<{ items: AuditItemView[]; nextCursor: string | null; hasMore: boolean; total: number }>();
      seen.push(...body.items);
      cursor = body.nextCursor;
      expect(body.hasMore).toBe(cursor !== null);
      if (first) {
        first = false;
        t.clock.advance(1000);
        await withKey(t.app, 'PUT', '/api/admin/pricing/audit-model', { body: { perRequest: 4 } });
      }
    } while (cursor);
    expect(seen.map((r) => r.id)).toEqual(all.map((r) => r.id));

    const page2 = await withKey(t.app, 'GET', '/api/admin/audit?limit=2&page=2');
    expect(page2.json<{ page: number; total: number }>()).toMatchObject({ page: 2, total: all.length + 1 });
    const bad = await withKey(t.app, 'GET', '/api/admin/audit?cursor=not-a-cursor');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_CURSOR' });
    expect((await withKey(t.app, 'GET', '/api/admin/audit?from=yesterday')).statusCode).toBe(400);
    expect((await call(t.app, 'GET', '/api/admin/audit', { token: user.accessToken })).statusCode).toBe(403);
  });
});
