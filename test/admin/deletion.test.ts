import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  STRONG_PASSWORD,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { ADMIN_KEY_ENV, auditLog, withKey } from './helpers.ts';

describe.each(backends())('deleting an account keeps the books on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  const db = () => t.app.services.database.db;
  const counts = async (userId: string) => {
    const count = async (table: 'credit_ledger' | 'checkins' | 'redemptions' | 'sessions') =>
      Number(
        (
          await db()
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('user_id', '=', userId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      ledger: await count('credit_ledger'),
      checkins: await count('checkins'),
      redemptions: await count('redemptions'),
      sessions: await count('sessions'),
    };
  };

  it('erases the personal data, ends the sessions, deletes the keys; ledger, check-ins and redemptions stay', async () => {
    const user = await registerUser(t);
    await db()
      .updateTable('users')
      .set({ wechat_openid: 'o-delete-me', nickname: 'Nick' })
      .where('id', '=', user.id)
      .execute();
    await call(t.app, 'POST', '/api/checkin', { token: user.accessToken });
    const batch = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 1, credits: 7 },
    });
    const code = batch.json<{ codes: Array<{ code: string }> }>().codes[0]!.code;
    await call(t.app, 'POST', '/api/credits/redeem', { token: user.accessToken, body: { code } });
    const key = (await call(t.app, 'POST', '/api/keys', { token: user.accessToken, body: { name: 'k' } })).json<{
      key: string;
    }>().key;
    expect((await call(t.app, 'GET', '/v1/models', { token: key })).statusCode).toBe(200);
    // Found by openid and nickname before.
    const found = await withKey(t.app, 'GET', '/v1/admin/users?search=o-delete-me');
    expect(found.json<{ data: { items: Array<{ id: string }> } }>().data.items.map((u) => u.id)).toEqual([user.id]);
    const balance = (await t.app.services.credits.account(user.id)).balance;
    const before = await counts(user.id);

    const res = await withKey(t.app, 'DELETE', `/v1/admin/users/${user.id}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ success: true, data: { id: user.id, sessionsEnded: 1, keysRemoved: 1 } });

    const row = await db().selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      status: 'disabled',
      email: null,
      password_hash: null,
      username: `deleted_${user.id}`,
      derived_username: null,
      wechat_openid: null,
      wechat_unionid: null,
      wechat_session_key: null,
      nickname: null,
      avatar_url: null,
      phone: null,
    });
    expect(row.deleted_at).toBe(t.clock.now());
    expect(await counts(user.id)).toEqual(before);
    expect(await t.app.services.credits.ledgerSum(user.id)).toBe(balance);
    expect((await t.app.services.credits.account(user.id)).balance).toBe(balance);

    expect((await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken })).statusCode).toBe(401);
    expect((await call(t.app, 'GET', '/v1/models', { token: key })).statusCode).toBe(401);
    const login = await call(t.app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: STRONG_PASSWORD },
      ip: freshIp(),
    });
    expect(login.statusCode).toBe(401);

    // Gone from the list and the search; there with deleted=true, and readable by id.
    expect((await withKey(t.app, 'GET', '/api/admin/users?search=o-delete-me')).json()).toMatchObject({ total: 0 });
    const deleted = await withKey(t.app, 'GET', '/api/admin/users?deleted=true');
    expect(deleted.json<{ items: Array<{ id: string; deletedAt: string }> }>().items[0]).toMatchObject({ id: user.id });
    expect((await withKey(t.app, 'GET', `/api/admin/users/${user.id}`)).json()).toMatchObject({
      email: null,
      status: 'disabled',
      credits: { balance },
    });

    // The audit row keeps no personal data.
    const [audit] = await auditLog(t.app, `targetId=${user.id}`);
    expect(audit).toMatchObject({
      action: 'DELETE /v1/admin/users/:id',
      before: { role: 'user', status: 'active' },
      after: { deleted: true, status: 'disabled' },
    });
    expect(JSON.stringify(audit)).not.toContain(user.email);
  });

  it('the same email signs up again as a new account, with its own sign-up bonus', async () => {
    const first = await registerUser(t);
    await withKey(t.app, 'DELETE', `/api/admin/users/${first.id}`);
    t.clock.advance(t.config.EMAIL_CODE_COOLDOWN * 1000); // the code cooldown of the first sign-up
    const again = await registerUser(t, { email: first.email });
    expect(again.id).not.toBe(first.id);
    expect((await t.app.services.credits.account(again.id)).balance).toBe(t.config.SIGNUP_BONUS);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: again.accessToken })).json()).toMatchObject({
      email: first.email,
    });
  });

  it('a deleted account cannot be deleted, changed, enabled, credited or given a plan again (404); the last admin cannot be deleted (409)', async () => {
    const user = await registerUser(t);
    await withKey(t.app, 'DELETE', `/api/admin/users/${user.id}`);
    for (const [method, url, body] of [
      ['DELETE', `/api/admin/users/${user.id}`, undefined],
      ['DELETE', `/v1/admin/users/${user.id}`, undefined],
      ['POST', `/api/admin/users/${user.id}/enable`, undefined],
      ['PUT', `/api/admin/users/${user.id}`, { nickname: 'back' }],
      ['PUT', `/api/admin/users/${user.id}/role`, { role: 'admin' }],
      ['POST', `/api/admin/users/${user.id}/credits`, { amount: 500, reason: 'goodwill' }],
      ['PUT', `/api/admin/users/${user.id}/plan`, { planId: 'monthly' }],
      ['PUT', `/v1/admin/users/${user.id}/vip`, { planId: 'monthly' }],
      ['DELETE', '/api/admin/users/nobody', undefined],
    ] as const) {
      const res = await withKey(t.app, method, url, body === undefined ? {} : { body });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    const adminId = (await call(t.app, 'GET', '/api/user/profile', { token: admin })).json<{ id: string }>().id;
    const last = await withKey(t.app, 'DELETE', `/api/admin/users/${adminId}`);
    expect(last.statusCode).toBe(409);
    expect(last.json()).toMatchObject({ code: 'LAST_ADMIN' });
  });

  it('stats count deleted accounts apart', async () => {
    const stats = (await withKey(t.app, 'GET', '/v1/admin/stats')).json<{
      data: { users: { total: number; deleted: number } };
    }>().data;
    expect(stats.users.deleted).toBe(3);
    expect(stats.users.total).toBe(2); // the admin and the account signed up again
  });
});
