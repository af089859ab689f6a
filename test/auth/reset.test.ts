import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '#test/helpers/clock.ts';
import {
  backends,
  call,
  createTestApp,
  freshEmail,
  freshIp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

const CODE_INVALID = '验证码无效或已过期';
const NEW_PASSWORD = 'Br4ndNewPass';
const WRONG_PASSWORD = 'Wr0ngPassword';

describe.each(backends())('password reset on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const login = (email: string, password: string, extra: Record<string, string> = {}) =>
    call(t.app, 'POST', '/api/auth/login', { body: { email, password, ...extra }, ip: freshIp() });
  const resetPassword = (body: Record<string, unknown>, lang?: string) =>
    call(t.app, 'POST', '/api/auth/reset-password', { body, ip: freshIp(), ...(lang ? { lang } : {}) });
  const wrongCode = (code: string) => (code === '000000' ? '111111' : '000000');

  /** A registered user who has asked for a reset code (past the sign-up code's resend cooldown). */
  async function userWithResetCode(): Promise<{ user: RegisteredUser; code: string }> {
    const user = await registerUser(t);
    t.clock.advance(MINUTE);
    const res = await call(t.app, 'POST', '/api/auth/send-reset-code', { body: { email: user.email }, ip: freshIp() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: '验证码已发送到您的邮箱' });
    return { user, code: t.lastCode(user.email) };
  }

  it('mails a reset code to a registered email, in any letter case', async () => {
    const user = await registerUser(t);
    t.clock.advance(MINUTE);
    const res = await call(t.app, 'POST', '/api/auth/send-reset-code', {
      body: { email: user.email.toUpperCase() },
      ip: freshIp(),
    });
    expect(res.statusCode).toBe(200);
    const mail = t
      .outbox()
      .filter((m) => m.to === user.email)
      .at(-1)!;
    expect(mail.subject).toBe('Tollgate 密码重置验证码');
  });

  it('refuses to send a reset code to an unregistered email, and mails nothing', async () => {
    const email = freshEmail('stranger');
    const res = await call(t.app, 'POST', '/api/auth/send-reset-code', { body: { email }, ip: freshIp() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      message: '该邮箱未注册',
      path: '/api/auth/send-reset-code',
    });
    expect(t.outbox().filter((m) => m.to === email)).toHaveLength(0);
  });

  it('resets the password: the new one signs in, the old one does not, and the code is spent', async () => {
    const { user, code } = await userWithResetCode();
    const res = await resetPassword({ email: user.email, code, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: '密码重置成功' });

    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    const old = await login(user.email, user.password);
    expect(old.statusCode).toBe(401);
    expect(old.json().message).toBe('邮箱或密码错误');

    const again = await resetPassword({ email: user.email, code, newPassword: 'An0therPass' });
    expect(again.statusCode).toBe(400);
    expect(again.json().message).toBe(CODE_INVALID);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('refuses a wrong code with 400 and keeps the old password', async () => {
    const { user, code } = await userWithResetCode();
    const res = await resetPassword({ email: user.email, code: wrongCode(code), newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ success: false, statusCode: 400, error: 'Bad Request', message: CODE_INVALID });
    expect((await login(user.email, user.password)).statusCode).toBe(200);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(401);
  });

  it('refuses an expired code with 400 and keeps the old password', async () => {
    const { user, code } = await userWithResetCode();
    t.clock.advance(5 * MINUTE + 1);
    const res = await resetPassword({ email: user.email, code, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(CODE_INVALID);
    expect((await login(user.email, user.password)).statusCode).toBe(200);
  });

  it('refuses a weak new password with the policy message; the code stays usable', async () => {
    const { user, code } = await userWithResetCode();
    for (const weak of ['short1A', 'nouppercase1', 'NOLOWERCASE1', 'NoDigitsAtAll', `Aa1${'x'.repeat(48)}`]) {
      const res = await resetPassword({ email: user.email, code, newPassword: weak });
      expect(res.statusCode, weak).toBe(400);
      expect(res.json().message, weak).toBe('密码长度为8-50位，且必须包含大写字母、小写字母和数字');
    }
    expect((await login(user.email, user.password)).statusCode).toBe(200);
    expect((await resetPassword({ email: user.email, code, newPassword: NEW_PASSWORD })).statusCode).toBe(200);
  });

  it('refuses a reset for an unregistered email', async () => {
    const res = await resetPassword({ email: freshEmail('nobody'), code: '123456', newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('该邮箱未注册');
  });

  it('refuses malformed reset requests with 400 and changes nothing', async () => {
    const { user, code } = await userWithResetCode();
    const good = { email: user.email, code, newPassword: NEW_PASSWORD };
    for (const body of [
      { email: user.email, code },
      { email: user.email, newPassword: NEW_PASSWORD },
      { ...good, code: Number(code) },
      { ...good, password: NEW_PASSWORD },
      { ...good, email: 'nope' },
    ]) {
      const res = await resetPassword(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ success: false, statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await login(user.email, user.password)).statusCode).toBe(200);
    expect((await resetPassword(good)).statusCode).toBe(200);
  });

  it('lifts an active login lock', async () => {
    const { user, code } = await userWithResetCode();
    const ip = freshIp();
    for (let i = 0; i < t.config.LOGIN_LOCK_AFTER; i++) {
      const { sessionId } = (await call(t.app, 'GET', '/api/captcha/generate')).json();
      const captchaCode = (await t.app.services.captcha.peek(sessionId))!;
      await call(t.app, 'POST', '/api/auth/login', {
        body: { email: user.email, password: WRONG_PASSWORD, captchaSessionId: sessionId, captchaCode },
        ip,
      });
    }
    expect((await login(user.email, user.password)).json().message).toBe('账户已被锁定，请在 15 分钟后重试');

    expect((await resetPassword({ email: user.email, code, newPassword: NEW_PASSWORD })).statusCode).toBe(200);
    const status = await call(t.app, 'GET', `/api/auth/login-status?email=${encodeURIComponent(user.email)}`, {
      ip: freshIp(),
    });
    expect(status.json()).toEqual({ requiresCaptcha: false, isLocked: false, failureCount: 0, remainingLockTime: 0 });
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('speaks English when asked', async () => {
    const { user, code } = await userWithResetCode();
    const res = await resetPassword({ email: user.email, code, newPassword: NEW_PASSWORD }, 'en');
    expect(res.json()).toEqual({ message: 'The password has been reset' });
  });
});
