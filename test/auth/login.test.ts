import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backends,
  call,
  createTestApp,
  freshEmail,
  freshIp,
  registerUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

const INVALID_CREDENTIALS = '邮箱或密码错误';
const CAPTCHA_REQUIRED = '需要输入图形验证码';
const LOCKED = '账户已被锁定，请在 15 分钟后重试';
const WRONG_PASSWORD = 'Wr0ngPassword';

describe.each(backends())('login on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  function login(body: Record<string, unknown>, ip: string, lang?: string) {
    return call(t.app, 'POST', '/api/auth/login', { body, ip, ...(lang ? { lang } : {}) });
  }

  async function loginStatus(ip: string, email?: string) {
    const query = email === undefined ? '' : `?email=${encodeURIComponent(email)}`;
    const res = await call(t.app, 'GET', `/api/auth/login-status${query}`, { ip });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  /** A fresh captcha and its answer, as a person reading the image would type it. */
  async function solvedCaptcha() {
    const { sessionId } = (await call(t.app, 'GET', '/api/captcha/generate')).json();
    return { captchaSessionId: sessionId as string, captchaCode: (await t.app.services.captcha.peek(sessionId))! };
  }

  it('signs in with the right password: access token, refresh token and the user', async () => {
    const user = await registerUser(t);
    const res = await login({ email: user.email, password: user.password }, freshIp());
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: t.config.ACCESS_TOKEN_TTL,
      user: { id: user.id, email: user.email, username: user.username, role: 'user' },
    });
    expect(body.refresh_token).toMatch(/^rt_/);
    expect(res.body).not.toContain('password');

    const profile = await call(t.app, 'GET', '/api/user/profile', { token: body.access_token });
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({ id: user.id, email: user.email });
  });

  it('answers a wrong password and an unknown email alike: 401 邮箱或密码错误', async () => {
    const user = await registerUser(t);
    const wrong = await login({ email: user.email, password: WRONG_PASSWORD }, freshIp());
    const unknown = await login({ email: freshEmail('ghost'), password: WRONG_PASSWORD }, freshIp());
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        success: false,
        statusCode: 401,
        error: 'Unauthorized',
        message: INVALID_CREDENTIALS,
        path: '/api/auth/login',
      });
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    const withoutTime = (body: Record<string, unknown>) => ({ ...body, timestamp: undefined });
    expect(withoutTime(wrong.json())).toEqual(withoutTime(unknown.json()));
  });

  it('counts failures per email and clears them on success', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 0,
      remainingLockTime: 0,
    });
    await login({ email: user.email, password: WRONG_PASSWORD }, ip);
    await login({ email: user.email, password: WRONG_PASSWORD }, ip);
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 2,
      remainingLockTime: 0,
    });

    expect((await login({ email: user.email, password: user.password }, ip)).statusCode).toBe(200);
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 0,
      remainingLockTime: 0,
    });
    expect(await loginStatus(ip)).toMatchObject({ failureCount: 0 });
  });

  it('demands a captcha from the 3rd failure; refusals for a missing or wrong captcha are not counted', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      expect((await login({ email: user.email, password: WRONG_PASSWORD }, ip)).statusCode).toBe(401);
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: true,
      isLocked: false,
      failureCount: 3,
      remainingLockTime: 0,
    });

    const without = await login({ email: user.email, password: user.password }, ip);
    expect(without.statusCode).toBe(400);
    expect(without.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      message: CAPTCHA_REQUIRED,
      requiresCaptcha: true,
    });
    expect(without.headers['set-cookie']).toBeUndefined();

    const captcha = await solvedCaptcha();
    const wrongCaptcha = await login(
      { email: user.email, password: user.password, captchaSessionId: captcha.captchaSessionId, captchaCode: 'zzzz' },
      ip,
    );
    expect(wrongCaptcha.statusCode).toBe(400);
    expect(wrongCaptcha.json().message).toBe('图形验证码错误或已过期');
    expect((await loginStatus(ip, user.email)).failureCount).toBe(3);

    const solved = await login({ email: user.email, password: user.password, ...(await solvedCaptcha()) }, ip);
    expect(solved.statusCode).toBe(200);
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 0,
      remainingLockTime: 0,
    });
  });

  it('counts a wrong password that came with a correct captcha, and locks at the 5th failure', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await login({ email: user.email, password: WRONG_PASSWORD }, ip);

    const fourth = await login({ email: user.email, password: WRONG_PASSWORD, ...(await solvedCaptcha()) }, ip);
    expect(fourth.statusCode).toBe(401);
    expect(fourth.json().message).toBe(INVALID_CREDENTIALS);
    expect((await loginStatus(ip, user.email)).failureCount).toBe(4);

    const fifth = await login({ email: user.email, password: WRONG_PASSWORD, ...(await solvedCaptcha()) }, ip);
    expect(fifth.statusCode).toBe(401);
    expect(fifth.json()).toMatchObject({ success: false, statusCode: 401, message: LOCKED });

    const status = await loginStatus(freshIp(), user.email);
    expect(status).toMatchObject({ requiresCaptcha: true, isLocked: true, failureCount: 5 });
    expect(status.remainingLockTime).toBe(15 * 60);

    for (const attempt of [{ password: user.password }, { password: user.password, ...(await solvedCaptcha()) }]) {
      const res = await login({ email: user.email, ...attempt }, freshIp());
      expect(res.statusCode).toBe(401);
      expect(res.json().message).toBe(LOCKED);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect((await loginStatus(ip, user.email)).failureCount).toBe(5);
  });

  it('counts failures per IP too: many emails from one address meet the captcha, other addresses do not', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++)
      expect((await login({ email: freshEmail('spray'), password: WRONG_PASSWORD }, ip)).statusCode).toBe(401);
    expect(await loginStatus(ip)).toEqual({
      requiresCaptcha: true,
      isLocked: false,
      failureCount: 3,
      remainingLockTime: 0,
    });

    const user = await registerUser(t);
    expect(await loginStatus(ip, user.email)).toMatchObject({ requiresCaptcha: true, failureCount: 0 });
    const refused = await login({ email: user.email, password: user.password }, ip);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toBe(CAPTCHA_REQUIRED);

    expect((await login({ email: user.email, password: user.password }, freshIp())).statusCode).toBe(200);
    expect(
      (await login({ email: user.email, password: user.password, ...(await solvedCaptcha()) }, ip)).statusCode,
    ).toBe(200);
  });

  it('never locks an account for failures spread over other emails from its IP', async () => {
    const ip = freshIp();
    for (let i = 0; i < 6; i++) {
      const res = await login({ email: freshEmail('spray'), password: WRONG_PASSWORD, ...(await solvedCaptcha()) }, ip);
      expect(res.json().message).toBe(INVALID_CREDENTIALS);
    }
    const user = await registerUser(t);
    expect(await loginStatus(ip, user.email)).toMatchObject({ isLocked: false });
    expect(
      (await login({ email: user.email, password: user.password, ...(await solvedCaptcha()) }, ip)).statusCode,
    ).toBe(200);
  });

  it('holds the lock against 20 parallel wrong guesses, each with a solved captcha', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    const captchas = await Promise.all(Array.from({ length: 20 }, () => solvedCaptcha()));
    const results = await Promise.all(
      captchas.map((captcha) => login({ email: user.email, password: WRONG_PASSWORD, ...captcha }, ip)),
    );

    const messages = results.map((r) => {
      expect(r.statusCode).toBe(401);
      return r.json().message as string;
    });
    // At most LOGIN_LOCK_AFTER - 1 guesses were judged on the password; every other one met the lock.
    expect(messages.filter((m) => m === INVALID_CREDENTIALS).length).toBeLessThanOrEqual(t.config.LOGIN_LOCK_AFTER - 1);
    expect(messages.filter((m) => m === LOCKED).length).toBeGreaterThanOrEqual(20 - (t.config.LOGIN_LOCK_AFTER - 1));
    expect(messages.every((m) => m === INVALID_CREDENTIALS || m === LOCKED)).toBe(true);

    expect(await loginStatus(ip, user.email)).toMatchObject({
      isLocked: true,
      requiresCaptcha: true,
      remainingLockTime: 15 * 60,
    });
    const right = await login({ email: user.email, password: user.password, ...(await solvedCaptcha()) }, freshIp());
    expect(right.statusCode).toBe(401);
    expect(right.json().message).toBe(LOCKED);
  });

  it('refuses malformed login requests with 400 without counting them', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    const bodies = [
      { email: user.email },
      { password: user.password },
      { email: user.email, password: '' },
      { email: user.email, password: 12345678 },
      { email: 'nobody', password: user.password },
      { email: user.email, password: user.password, remember: true },
    ];
    for (const body of bodies) {
      const res = await login(body, ip);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ success: false, statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    const malformed = await call(t.app, 'POST', '/api/auth/login', {
      body: '{"email":',
      headers: { 'content-type': 'application/json' },
      ip,
    });
    expect(malformed.statusCode).toBe(400);
    expect(await loginStatus(ip, user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 0,
      remainingLockTime: 0,
    });
  });

  it('refuses a malformed login-status query with 400', async () => {
    const res = await call(t.app, 'GET', '/api/auth/login-status?email=not-an-email', { ip: freshIp() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      path: '/api/auth/login-status?email=not-an-email',
    });
  });

  it('speaks English with Accept-Language: en', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    const wrong = await login({ email: user.email, password: WRONG_PASSWORD }, ip, 'en');
    expect(wrong.json()).toMatchObject({ statusCode: 401, message: 'Incorrect email or password' });
    await login({ email: user.email, password: WRONG_PASSWORD }, ip, 'en');
    await login({ email: user.email, password: WRONG_PASSWORD }, ip, 'en');
    expect((await login({ email: user.email, password: user.password }, ip, 'en')).json().message).toBe(
      'A captcha is required',
    );
    for (let i = 0; i < 2; i++)
      await login({ email: user.email, password: WRONG_PASSWORD, ...(await solvedCaptcha()) }, ip, 'en');
    expect((await login({ email: user.email, password: user.password }, ip, 'en')).json().message).toBe(
      'The account is locked; try again in 15 minutes',
    );
  });
});
