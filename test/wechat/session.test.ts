import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ENV, adminToken, backends, call } from '#test/helpers/test-app.ts';
import { startWeChatApp, wechatLogin, type WeChatTestApp } from './helpers.ts';

describe.each(backends())("seed 003's refresh-token, userinfo and users/:id on $label", (backend) => {
  let w: WeChatTestApp;
  beforeAll(async () => {
    w = await startWeChatApp(backend, ADMIN_ENV);
  });
  afterAll(() => w.close());

  const refresh = (refreshToken: string) => call(w.t.app, 'POST', '/v1/auth/refresh-token', { body: { refreshToken } });

  it('rotates the refresh token, and a reused one ends the session', async () => {
    const login = await wechatLogin(w);
    const first = await refresh(login.refreshToken);
    expect(first.statusCode, first.body).toBe(200);
    const pair = first.json<{ success: true; data: { accessToken: string; refreshToken: string } }>().data;
    expect(first.json()).toMatchObject({ success: true, data: { tokenType: 'Bearer', expiresIn: 3600 } });
    expect(pair.refreshToken).not.toBe(login.refreshToken);
    expect((await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: pair.accessToken })).statusCode).toBe(200);

    w.t.clock.advance(60_000); // past the grace in which a repeated refresh gets the same successor
    const reused = await refresh(login.refreshToken);
    expect(reused.statusCode).toBe(401);
    expect(reused.json()).toMatchObject({ success: false, statusCode: 401, path: '/v1/auth/refresh-token' });
    expect((await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: pair.accessToken })).statusCode).toBe(401);
    expect((await refresh(pair.refreshToken)).statusCode).toBe(401);
    expect((await refresh('rt_nonsense')).statusCode).toBe(401);
    expect((await call(w.t.app, 'POST', '/v1/auth/refresh-token', { body: {} })).statusCode).toBe(400);
  });

  it('gives the signed-in user everything about the account, in the success envelope', async () => {
    const login = await wechatLogin(w, undefined, { body: { nickname: 'Mei' } });
    const res = await call(w.t.app, 'GET', '/v1/auth/userinfo', { token: login.accessToken });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      success: true,
      data: {
        id: login.user.id,
        nickname: 'Mei',
        avatarUrl: null,
        username: expect.stringMatching(/^wx_/),
        email: null,
        phone: null,
        role: 'user',
        status: 'active',
        wechatLinked: true,
        hasPassword: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    });
    const anonymous = await call(w.t.app, 'GET', '/v1/auth/userinfo');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ success: false, statusCode: 401 });
  });

  it('shows others only the public fields of an account, oneself and admins everything, and 404 for unknown ids', async () => {
    const alice = await wechatLogin(w, undefined, { body: { nickname: 'Alice' } });
    const bob = await wechatLogin(w);
    const asBob = await call(w.t.app, 'GET', `/v1/users/${alice.user.id}`, { token: bob.accessToken });
    expect(asBob.statusCode).toBe(200);
    expect(asBob.json()).toEqual({
      success: true,
      data: { id: alice.user.id, nickname: 'Alice', avatarUrl: null, createdAt: expect.any(String) },
    });
    const asAlice = await call(w.t.app, 'GET', `/v1/users/${alice.user.id}`, { token: alice.accessToken });
    expect(asAlice.json()).toMatchObject({ data: { id: alice.user.id, wechatLinked: true, email: null } });
    const asAdmin = await call(w.t.app, 'GET', `/v1/users/${alice.user.id}`, { token: await adminToken(w.t) });
    expect(asAdmin.json()).toMatchObject({ data: { id: alice.user.id, role: 'user', status: 'active' } });

    const unknown = await call(w.t.app, 'GET', '/v1/users/no-such-user', { token: bob.accessToken });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ success: false, statusCode: 404 });
    await w.t.app.services.database.db
      .updateTable('users')
      .set({ deleted_at: Date.now(), status: 'disabled' })
      .where('id', '=', alice.user.id)
      .execute();
    expect((await call(w.t.app, 'GET', `/v1/users/${alice.user.id}`, { token: bob.accessToken })).statusCode).toBe(404);
    expect((await call(w.t.app, 'GET', `/v1/users/${bob.user.id}`)).statusCode).toBe(401);
  });
});
