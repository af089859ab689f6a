import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  STRONG_PASSWORD,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import { ADMIN_KEY_ENV, auditLog, withKey } from './helpers.ts';

interface UserView {
  id: string;
  email: string | null;
  username: string;
  role: 'user' | 'admin';
  status: 'active' | 'disabled';
  credits?: { balance: number };
}
interface Page {
  items: UserView[];
  total: number;
  nextCursor: string | null;
  hasMore: boolean;
}

describe.each(backends())('user management by admins on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  let adminId: string;
  let users: RegisteredUser[];
  beforeAll(async () => {
    t = await createTestApp(backend, { env: ADMIN_KEY_ENV });
    admin = await adminToken(t);
    adminId = (await call(t.app, 'GET', '/api/user/profile', { token: admin })).json<{ id: string }>().id;
    users = [];
    for (const tag of ['alice', 'bob', 'carol_x']) {
      t.clock.advance(1000);
      users.push(await registerUser(t, { email: `${tag}-${Date.now().toString(36)}@example.com` }));
    }
  });
  afterAll(() => t.close());

  const list = async (query: string, via: 'console' | 'dream' = 'console'): Promise<Page> => {
    const url = via === 'console' ? `/api/admin/users?${query}` : `/v1/admin/users?${query}`;
    const res = await withKey(t.app, 'GET', url);
    expect(res.statusCode, res.body).toBe(200);
    return via === 'console' ? res.json<Page>() : res.json<{ success: true; data: Page }>().data;
  };
  const signIn = (user: RegisteredUser) =>
    call(t.app, 'POST', '/api/auth/login', { body: { email: user.email, password: STRONG_PASSWORD }, ip: freshIp() });

  it('lists accounts newest first and finds them by part of an email or username, or by id; seed 003 in its envelope', async () => {
    const all = await list('limit=100');
    expect(all.total).toBe(4);
    expect(all.items.map((u) => u.id).slice(0, 3)).toEqual(users.map((u) => u.id).reverse());
    expect((await list('search=ALICE')).items.map((u) => u.id)).toEqual([users[0]!.id]);
    expect((await list(`search=${users[1]!.id}`)).items.map((u) => u.id)).toEqual([users[1]!.id]);
    // `_` and `%` are letters in a search, not wildcards.
    expect((await list('search=carol_')).items.map((u) => u.id)).toEqual([users[2]!.id]);
    expect((await list('search=%25')).items).toEqual([]);
    expect((await list('role=admin')).items.map((u) => u.id)).toEqual([adminId]);
    const dream = await list('search=bob', 'dream');
    expect(dream.items[0]).toMatchObject({ id: users[1]!.id, role: 'user', status: 'active' });
    expect(JSON.stringify(await list('limit=100'))).not.toMatch(/password|argon2/);
  });

  it('pages by cursor: every account once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await list(`limit=1${cursor ? `&cursor=${cursor}` : ''}`, 'dream');
      seen.push(...page.items.map((u) => u.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual((await list('limit=100')).items.map((u) => u.id));
  });

  it('reads one account with its credits; an unknown id is 404 on both surfaces', async () => {
    const res = await withKey(t.app, 'GET', `/api/admin/users/${users[0]!.id}`);
    expect(res.json()).toMatchObject({ id: users[0]!.id, email: users[0]!.email, credits: { balance: 1000 } });
    const dream = await withKey(t.app, 'GET', `/v1/admin/users/${users[0]!.id}`);
    expect(dream.json()).toMatchObject({ success: true, data: { id: users[0]!.id } });
    for (const url of ['/api/admin/users/nobody', '/v1/admin/users/nobody']) {
      const missing = await withKey(t.app, 'GET', url);
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
  });

  it('changes email and username; a taken email is 409 and changes nothing', async () => {
    const [alice, bob] = users as [RegisteredUser, RegisteredUser];
    const res = await call(t.app, 'PUT', `/api/admin/users/${alice.id}`, {
      token: admin,
      body: { email: 'Alice.New@Example.com', username: 'alice-renamed' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ email: 'alice.new@example.com', username: 'alice-renamed' });
    alice.email = 'alice.new@example.com';
    expect((await signIn(alice)).statusCode).toBe(200);
    const taken = await withKey(t.app, 'PUT', `/v1/admin/users/${bob.id}`, { body: { email: alice.email } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ success: false, code: 'EMAIL_ALREADY_REGISTERED' });
    expect((await withKey(t.app, 'GET', `/api/admin/users/${bob.id}`)).json()).toMatchObject({ email: bob.email });
    const bad = await withKey(t.app, 'PUT', `/api/admin/users/${bob.id}`, { body: { role: 'root' } });
    expect(bad.statusCode).toBe(400);
    const [row] = await auditLog(t.app, `targetId=${alice.id}`);
    expect(row).toMatchObject({
      actor: { kind: 'session', userId: adminId },
      action: 'PUT /api/admin/users/:id',
      before: { username: alice.username },
      after: { email: 'alice.new@example.com', username: 'alice-renamed' },
    });
  });

  it('disabling ends the sessions and refuses the API keys at the next request; enabling lets the user sign in again', async () => {
    const bob = users[1]!;
    const key = (await call(t.app, 'POST', '/api/keys', { token: bob.accessToken, body: { name: 'k' } })).json<{
      key: string;
    }>().key;
    expect((await call(t.app, 'GET', '/v1/models', { token: key })).statusCode).toBe(200);
    const res = await withKey(t.app, 'POST', `/api/admin/users/${bob.id}/disable`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'disabled' });
    expect((await call(t.app, 'GET', '/api/user/profile', { token: bob.accessToken })).statusCode).toBe(401);
    expect((await call(t.app, 'GET', '/v1/models', { token: key })).statusCode).toBe(403);
    expect((await signIn(bob)).statusCode).toBe(403);
    const [row] = await auditLog(t.app, `targetId=${bob.id}`);
    expect(row).toMatchObject({
      actor: { kind: 'adminkey' },
      action: 'POST /api/admin/users/:id/disable',
      before: { status: 'active' },
      after: { status: 'disabled', sessionsEnded: 1 },
    });

    expect((await withKey(t.app, 'POST', `/api/admin/users/${bob.id}/enable`)).json()).toMatchObject({
      status: 'active',
    });
    expect((await call(t.app, 'GET', '/api/user/profile', { token: bob.accessToken })).statusCode).toBe(401);
    const again = await signIn(bob);
    expect(again.statusCode).toBe(200);
    bob.accessToken = again.json<{ access_token: string }>().access_token;
    expect((await call(t.app, 'GET', '/v1/models', { token: key })).statusCode).toBe(200);
  });

  it('a role change applies at the next request: a promoted user is an admin, a demoted one is refused', async () => {
    const carol = users[2]!;
    expect((await call(t.app, 'GET', '/api/admin/users', { token: carol.accessToken })).statusCode).toBe(403);
    const promoted = await call(t.app, 'PUT', `/api/admin/users/${carol.id}/role`, {
      token: admin,
      body: { role: 'admin' },
    });
    expect(promoted.statusCode, promoted.body).toBe(200);
    expect((await call(t.app, 'GET', '/api/admin/users', { token: carol.accessToken })).statusCode).toBe(200);
    const [row] = await auditLog(t.app, `targetId=${carol.id}`);
    expect(row).toMatchObject({ before: { role: 'user' }, after: { role: 'admin' } });
    // An admin may step down while another admin remains.
    const down = await call(t.app, 'PUT', `/api/admin/users/${carol.id}/role`, {
      token: carol.accessToken,
      body: { role: 'user' },
    });
    expect(down.statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/admin/users', { token: carol.accessToken })).statusCode).toBe(403);
  });

  it('the last active admin cannot be demoted or disabled, by themselves or with the key (409 LAST_ADMIN)', async () => {
    for (const [method, url, body] of [
      ['PUT', `/api/admin/users/${adminId}/role`, { role: 'user' }],
      ['POST', `/api/admin/users/${adminId}/disable`, undefined],
      ['PUT', `/api/admin/users/${adminId}`, { status: 'disabled' }],
      ['PUT', `/v1/admin/users/${adminId}`, { role: 'user' }],
    ] as const) {
      const res = await withKey(t.app, method, url, body === undefined ? {} : { body });
      expect(res.statusCode, `${method} ${url}`).toBe(409);
      expect(res.json()).toMatchObject({ code: 'LAST_ADMIN' });
    }
    const self = await call(t.app, 'PUT', `/api/admin/users/${adminId}/role`, { token: admin, body: { role: 'user' } });
    expect(self.statusCode).toBe(409);
    expect((await call(t.app, 'GET', '/api/admin/users', { token: admin })).statusCode).toBe(200);
  });

  it('two admins demoted at once: exactly one succeeds, an admin remains', async () => {
    const carol = users[2]!;
    await withKey(t.app, 'PUT', `/api/admin/users/${carol.id}/role`, { body: { role: 'admin' } });
    const statuses = await Promise.all(
      [carol.id, adminId].map((id) =>
        withKey(t.app, 'PUT', `/api/admin/users/${id}/role`, { body: { role: 'user' } }).then((r) => r.statusCode),
      ),
    );
    expect(statuses.sort()).toEqual([200, 409]);
    expect((await list('role=admin&status=active')).total).toBe(1);
    // As they were, for the tests that follow.
    await withKey(t.app, 'PUT', `/api/admin/users/${adminId}/role`, { body: { role: 'admin' } });
    await withKey(t.app, 'PUT', `/api/admin/users/${carol.id}/role`, { body: { role: 'user' } });
  });

  it("ends a user's sessions everywhere, and says how many", async () => {
    const alice = users[0]!;
    const second = (await signIn(alice)).json<{ access_token: string }>().access_token;
    const res = await withKey(t.app, 'DELETE', `/api/admin/users/${alice.id}/sessions`);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ sessionsEnded: number }>().sessionsEnded).toBeGreaterThanOrEqual(2);
    for (const token of [alice.accessToken, second])
      expect((await call(t.app, 'GET', '/api/user/profile', { token })).statusCode).toBe(401);
    expect((await withKey(t.app, 'DELETE', '/api/admin/users/nobody/sessions')).statusCode).toBe(404);
  });

  it('seed 003 stats: users and new today in CHECKIN_TZ, credits granted and spent, calls', async () => {
    const stats = async () =>
      (await withKey(t.app, 'GET', '/v1/admin/stats')).json<{
        success: true;
        data: {
          users: { total: number; newToday: number };
          credits: { granted: number; spent: number };
          calls: { total: number };
        };
      }>().data;
    const before = await stats();
    expect(before.users.total).toBe(4);
    expect(before.credits.granted).toBeGreaterThanOrEqual(3000); // three sign-up bonuses
    expect(before.calls.total).toBe(0);
    // A new day in Asia/Shanghai: yesterday's sign-ups are no longer new.
    t.clock.set(Date.parse('2027-03-01T15:59:00Z')); // 23:59 in Shanghai
    await registerUser(t);
    expect((await stats()).users.newToday).toBe(1);
    t.clock.set(Date.parse('2027-03-01T16:00:00Z')); // midnight in Shanghai
    const after = await stats();
    expect(after.users).toEqual({ total: 5, newToday: 0, deleted: 0 });
    expect(after.credits.granted).toBe(before.credits.granted + 1000);
  });

  it('seed 003 stats: VIPs by level, counting only plans that have not ended', async () => {
    const vips = async () =>
      (await withKey(t.app, 'GET', '/v1/admin/stats')).json<{ data: { vips: { total: number; byLevel: object } } }>()
        .data.vips;
    expect(await vips()).toEqual({ total: 0, byLevel: {} });
    const [alice, bob] = [users[0]!, users[1]!];
    const set = (id: string, body: object) => withKey(t.app, 'PUT', `/v1/admin/users/${id}/vip`, { body });
    expect((await set(alice.id, { level: 1, days: 1 })).statusCode).toBe(200);
    expect((await set(bob.id, { level: 2, days: 30 })).statusCode).toBe(200);
    expect(await vips()).toEqual({ total: 2, byLevel: { '1': 1, '2': 1 } });
    // A day and a second later alice's plan has ended on its own, with no one ending it.
    t.clock.set(t.clock.now() + 86_401_000);
    expect(await vips()).toEqual({ total: 1, byLevel: { '2': 1 } });
    expect((await withKey(t.app, 'DELETE', `/v1/admin/users/${bob.id}/vip`)).statusCode).toBe(200);
    expect(await vips()).toEqual({ total: 0, byLevel: {} });
  });
});
