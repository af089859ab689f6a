import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '#test/helpers/clock.ts';
import { backends, call, createTestApp, freshEmail, freshIp, STRONG_PASSWORD, type TestApp } from '#test/helpers/test-app.ts';

describe.each(backends())('registration on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const userCount = async () => Number((await t.app.services.database.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('mails a code, registers with it, and the new token reads the profile', async () => {
    const email = freshEmail();
    const ip = freshIp();
    const sent = await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
    expect(sent.statusCode).toBe(200);
    expect(sent.json()).toEqual({ message: '验证码已发送到您的邮箱' });

    const code = t.lastCode(email);
    const res = await call(t.app, 'POST', '/api/auth/register', { body: { email, password: STRONG_PASSWORD, username: 'Alice', code }, ip });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toMatchObject({ email, username: 'Alice', role: 'user' });
    expect(typeof body.access_token).toBe('string');

    const profile = await call(t.app, 'GET', '/api/user/profile', { token: body.access_token });
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({ id: body.user.id, email, username: 'Alice' });
    expect(new Date(profile.json().createdAt).toISOString()).toBe(profile.json().createdAt);
  });

  it('refuses a wrong, an expired and a used code, and writes nothing', async () => {
    const email = freshEmail();
    const ip = freshIp();
    await call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip });
    const code = t.lastCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    const before = await userCount();

    const bad = await call(t.app, 'POST', '/api/auth/register', { body: { email, password: STRONG_PASSWORD, username: 'b', code: wrong }, ip });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request', message: '验证码无效或已过期', path: '/api/auth/register' });

    t.clock.advance(5 * MINUTE + 1);
    const expired = await call(t.app, 'POST', '/api/auth/register', { body: { email, password: STRONG_PASSWORD, username: 'b', code }, ip });
    expect(expired.statusCode).toBe(400);
    expect(await userCount()).toBe(before);
  });
});
