import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, call, createTestApp, freshIp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

interface SessionView {
  id: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

describe.each(backends())('a user’s own sessions on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const list = async (token: string) => {
    const res = await call(t.app, 'GET', '/api/auth/sessions', { token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: SessionView[] }>().items;
  };
  const signIn = async (email: string, password: string, ip: string) => {
    const res = await call(t.app, 'POST', '/api/auth/login', {
      body: { email, password },
      ip,
      headers: { 'user-agent': 'Phone/1.0' },
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ access_token: string }>().access_token;
  };

  it('lists the live sessions newest first, marks the current one, and ends another one by id', async () => {
    const user = await registerUser(t);
    t.clock.advance(1000);
    const phoneIp = freshIp();
    const phone = await signIn(user.email, user.password, phoneIp);

    const seen = await list(user.accessToken);
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.current)).toEqual([false, true]);
    expect(seen[0]).toMatchObject({ ip: phoneIp, userAgent: 'Phone/1.0' });
    expect(Date.parse(seen[0]!.expiresAt)).toBeGreaterThan(Date.parse(seen[0]!.createdAt));

    const ended = await call(t.app, 'DELETE', `/api/auth/sessions/${seen[0]!.id}`, { token: user.accessToken });
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toEqual({ ended: true });
    expect((await call(t.app, 'GET', '/api/user/profile', { token: phone })).statusCode).toBe(401);
    expect((await list(user.accessToken)).map((s) => s.current)).toEqual([true]);
    // Ended already: nothing to end.
    const again = await call(t.app, 'DELETE', `/api/auth/sessions/${seen[0]!.id}`, { token: user.accessToken });
    expect(again.statusCode).toBe(404);
  });

  it("cannot see or end another user's session (404, and that session goes on)", async () => {
    const alice = await registerUser(t);
    const bob = await registerUser(t);
    const [bobSession] = await list(bob.accessToken);
    expect((await list(alice.accessToken)).map((s) => s.id)).not.toContain(bobSession!.id);
    const res = await call(t.app, 'DELETE', `/api/auth/sessions/${bobSession!.id}`, { token: alice.accessToken });
    expect(res.statusCode).toBe(404);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: bob.accessToken })).statusCode).toBe(200);
  });

  it('needs a session, and a cookie session needs the X-Requested-With header to end one', async () => {
    expect((await call(t.app, 'GET', '/api/auth/sessions')).statusCode).toBe(401);
    const user = await registerUser(t);
    const [mine] = await list(user.accessToken);
    const cookie = { cookie: `tg_access=${user.accessToken}` };
    const refused = await call(t.app, 'DELETE', `/api/auth/sessions/${mine!.id}`, { headers: cookie });
    expect(refused.statusCode).toBe(403);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken })).statusCode).toBe(200);
    const allowed = await call(t.app, 'DELETE', `/api/auth/sessions/${mine!.id}`, {
      headers: { ...cookie, 'x-requested-with': 'fetch' },
    });
    expect(allowed.statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/user/profile', { token: user.accessToken })).statusCode).toBe(401);
  });
});
