import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  freshEmail,
  freshIp,
  registerUser,
  STRONG_PASSWORD,
  type TestApp,
} from '#test/helpers/test-app.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Seed 002 (Dify ReChat): /api/v1/auth on the same accounts, with FastAPI-style answers. */
describe.each(backends())('ReChat /api/v1/auth on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const usersWithEmail = async (email: string) =>
    (
      await t.app.services.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email.toLowerCase())
        .execute()
    ).length;

  function expectDetail(res: Awaited<ReturnType<typeof call>>, status: number, detail?: string) {
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(typeof body.detail).toBe('string');
    if (detail !== undefined) expect(body.detail).toBe(detail);
    expect(body).not.toHaveProperty('success');
    expect(body).not.toHaveProperty('statusCode');
  }

  async function codeFor(email = freshEmail('rechat')) {
    expect((await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip: freshIp() })).statusCode).toBe(200);
    return { email, code: t.lastCode(email) };
  }

  const v1Register = (body: unknown) => call(t.app, 'POST', '/api/v1/auth/register', { body, ip: freshIp() });
  const v1Login = (body: unknown, headers?: Record<string, string>) =>
    call(t.app, 'POST', '/api/v1/auth/login', { body, ip: freshIp(), ...(headers ? { headers } : {}) });
  const me = (token: string) => call(t.app, 'GET', '/api/v1/auth/me', { token });

  it('registers with the same body as /api/auth/register and answers a bearer session', async () => {
    const { email, code } = await codeFor();
    const res = await v1Register({ email, password: STRONG_PASSWORD, username: 'Rita', code });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'bearer', user: { email, username: 'Rita', role: 'user' } });
    expect(await usersWithEmail(email)).toBe(1);

    const profile = await me(body.access_token);
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({
      id: body.user.id,
      email,
      username: 'Rita',
      role: 'user',
      is_admin: false,
      is_active: true,
    });
    expect(new Date(profile.json().created_at).toISOString()).toBe(profile.json().created_at);
  });

  it('answers registration errors as {detail} and creates nothing', async () => {
    const { email, code } = await codeFor();
    const good = { email, password: STRONG_PASSWORD, username: 'R', code };
    expectDetail(
      await v1Register({ ...good, code: code === '000000' ? '111111' : '000000' }),
      400,
      '验证码无效或已过期',
    );
    expectDetail(
      await v1Register({ ...good, password: 'weakpass' }),
      400,
      '密码长度为8-50位，且必须包含大写字母、小写字母和数字',
    );
    expectDetail(await v1Register({ email, password: STRONG_PASSWORD, username: 'R' }), 422);
    expectDetail(await v1Register({ ...good, is_admin: true }), 422);
    expectDetail(await v1Register({ ...good, code: 123456 }), 422);
    expect(await usersWithEmail(email)).toBe(0);

    expect((await v1Register(good)).statusCode).toBe(200);
    expectDetail(await v1Register(good), 409, '该邮箱已注册，请直接登录或使用密码重置功能');
    expect(await usersWithEmail(email)).toBe(1);
  });

  it('signs in with JSON {email, password}', async () => {
    const user = await registerUser(t);
    const res = await v1Login({ email: user.email, password: user.password });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'bearer', user: { id: user.id, email: user.email } });
    expect((await me(res.json().access_token)).json().id).toBe(user.id);
  });

  it('signs in with an OAuth2 password form (username = the email)', async () => {
    const user = await registerUser(t);
    const form = new URLSearchParams({
      grant_type: 'password',
      username: user.email,
      password: user.password,
    }).toString();
    const res = await v1Login(form, FORM);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ token_type: 'bearer', user: { id: user.id } });
    expect((await me(res.json().access_token)).statusCode).toBe(200);

    const bare = await v1Login(
      new URLSearchParams({ username: user.email.toUpperCase(), password: user.password }).toString(),
      FORM,
    );
    expect(bare.statusCode).toBe(200);
  });

  it('answers bad credentials with 401 {detail}, for JSON and form alike', async () => {
    const user = await registerUser(t);
    expectDetail(await v1Login({ email: user.email, password: 'Wr0ngPassword' }), 401, '邮箱或密码错误');
    expectDetail(
      await v1Login(new URLSearchParams({ username: freshEmail('ghost'), password: 'Wr0ngPassword' }).toString(), FORM),
      401,
      '邮箱或密码错误',
    );
  });

  it('answers schema violations with 422 {detail} and counts no failure', async () => {
    const user = await registerUser(t);
    expectDetail(await v1Login({ email: user.email }), 422);
    expectDetail(await v1Login({ password: user.password }), 422);
    expectDetail(await v1Login({ email: 'not-an-email', password: user.password }), 422);
    expectDetail(await v1Login({ email: user.email, password: user.password, remember_me: true }), 422);
    expectDetail(await v1Login({ email: user.email, password: 12345678 }), 422);
    expectDetail(await v1Login(new URLSearchParams({ password: user.password }).toString(), FORM), 422);
    const status = await call(t.app, 'GET', `/api/auth/login-status?email=${encodeURIComponent(user.email)}`, {
      ip: freshIp(),
    });
    expect(status.json().failureCount).toBe(0);
  });

  it('applies the same captcha rule as /api/auth/login', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      await call(t.app, 'POST', '/api/v1/auth/login', { body: { email: user.email, password: 'Wr0ngPassword' }, ip });
    const res = await call(t.app, 'POST', '/api/v1/auth/login', {
      body: { email: user.email, password: user.password },
      ip,
    });
    expectDetail(res, 400, '需要输入图形验证码');
  });

  it('refuses /me without a valid token with 401 {detail}', async () => {
    const none = await call(t.app, 'GET', '/api/v1/auth/me');
    expectDetail(none, 401, '未登录或登录已过期');
    expectDetail(await me('garbage'), 401);
  });

  it('shares sessions with /api: a token from either surface works on the other', async () => {
    const user = await registerUser(t);
    expect((await me(user.accessToken)).statusCode).toBe(200);
    const v1 = (await v1Login({ email: user.email, password: user.password })).json();
    expect((await call(t.app, 'GET', '/api/user/profile', { token: v1.access_token })).statusCode).toBe(200);
    expect((await call(t.app, 'POST', '/api/auth/logout', { token: v1.access_token })).statusCode).toBe(200);
    expectDetail(await me(v1.access_token), 401);
  });
});
