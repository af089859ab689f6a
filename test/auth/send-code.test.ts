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

const CODE_SENT = '验证码已发送到您的邮箱';
const DAILY_LIMIT = '今日验证码发送次数已达上限，请明天再试';
const SECOND = 1000;

function mailsTo(t: TestApp, email: string) {
  return t.outbox().filter((m) => m.to === email.toLowerCase());
}

function sendCode(t: TestApp, email: string, ip: string, lang?: string) {
  return call(t.app, 'POST', '/api/auth/send-code', { body: { email }, ip, ...(lang ? { lang } : {}) });
}

function register(t: TestApp, email: string, code: string) {
  return call(t.app, 'POST', '/api/auth/register', {
    body: { email, password: STRONG_PASSWORD, username: 'someone', code },
    ip: freshIp(),
  });
}

describe.each(backends())('send-code on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('mails one 6-digit code to an unregistered email', async () => {
    const email = freshEmail();
    const res = await sendCode(t, email, freshIp());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: CODE_SENT });
    const mails = mailsTo(t, email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Tollgate 注册验证码');
    expect(mails[0]!.text).toMatch(/\b\d{6}\b/);
  });

  it('answers and mails in English when the client asks for it', async () => {
    const email = freshEmail();
    const res = await sendCode(t, email, freshIp(), 'en-US,en;q=0.9');
    expect(res.json()).toEqual({ message: 'The verification code has been sent to your email' });
    expect(mailsTo(t, email)[0]!.subject).toBe('Your Tollgate sign-up code');
  });

  it('refuses a registered email with 409 in any letter case and mails nothing', async () => {
    const user = await registerUser(t);
    const before = t.outbox().length;
    for (const email of [user.email, user.email.toUpperCase()]) {
      const res = await sendCode(t, email, freshIp());
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        success: false,
        statusCode: 409,
        error: 'Conflict',
        message: '该邮箱已注册，请直接登录或使用密码重置功能',
        path: '/api/auth/send-code',
      });
    }
    expect(t.outbox()).toHaveLength(before);
  });

  it.each([
    ['no email', {}],
    ['an invalid email', { email: 'not-an-email' }],
    ['an email of the wrong type', { email: 42 }],
    ['an unknown field', { email: 'x@example.com', purpose: 'reset' }],
  ])('refuses %s with 400 and mails nothing', async (_name, body) => {
    const before = t.outbox().length;
    const res = await call(t.app, 'POST', '/api/auth/send-code', { body, ip: freshIp() });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      code: 'VALIDATION_FAILED',
    });
    expect(t.outbox()).toHaveLength(before);
  });

  it('refuses a resend within 60 s with 429 and Retry-After, then a new code voids the old one', async () => {
    const email = freshEmail();
    const ip = freshIp();
    expect((await sendCode(t, email, ip)).statusCode).toBe(200);
    const first = t.lastCode(email);

    const early = await sendCode(t, email, freshIp());
    expect(early.statusCode).toBe(429);
    expect(early.headers['retry-after']).toBe('60');
    expect(early.json()).toMatchObject({
      statusCode: 429,
      error: 'Too Many Requests',
      message: '验证码发送过于频繁，请 60 秒后重试',
    });

    t.clock.advance(45 * SECOND);
    const stillEarly = await sendCode(t, email, ip);
    expect(stillEarly.statusCode).toBe(429);
    expect(stillEarly.headers['retry-after']).toBe('15');
    expect(mailsTo(t, email)).toHaveLength(1);

    t.clock.advance(15 * SECOND);
    expect((await sendCode(t, email, ip)).statusCode).toBe(200);
    const second = t.lastCode(email);
    expect(mailsTo(t, email)).toHaveLength(2);

    const withOld = await register(t, email, first);
    expect(withOld.statusCode).toBe(400);
    expect(withOld.json().message).toBe('验证码无效或已过期');
    expect((await register(t, email, second)).statusCode).toBe(200);
  });

  it('keeps the cooldown per email: another email from the same client is not held back', async () => {
    const ip = freshIp();
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
  });
});

describe.each(backends())('daily send caps on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, {
      env: { EMAIL_CODE_COOLDOWN: '0', EMAIL_DAILY_CAP_PER_EMAIL: '2', EMAIL_DAILY_CAP_PER_IP: '2' },
    });
  });
  afterAll(() => t.close());

  function expectDailyLimit(res: Awaited<ReturnType<typeof sendCode>>) {
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ success: false, statusCode: 429, message: DAILY_LIMIT });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
  }

  it('caps the codes mailed to one email per day; a refused send keeps the live code and spends no IP quota', async () => {
    const email = freshEmail();
    expect((await sendCode(t, email, freshIp())).statusCode).toBe(200);
    expect((await sendCode(t, email, freshIp())).statusCode).toBe(200);
    const live = t.lastCode(email);

    const ip = freshIp();
    expectDailyLimit(await sendCode(t, email, ip));
    expect(mailsTo(t, email)).toHaveLength(2);

    // The refused request took none of this address's two daily sends.
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
    // And the code mailed before the refusal still works.
    expect((await register(t, email, live)).statusCode).toBe(200);
  });

  it('caps the codes one IP can have mailed per day; a refused send spends nothing of the email', async () => {
    const ip = freshIp();
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
    expect((await sendCode(t, freshEmail(), ip)).statusCode).toBe(200);
    const victim = freshEmail();
    expectDailyLimit(await sendCode(t, victim, ip));
    expect(mailsTo(t, victim)).toHaveLength(0);

    expect((await sendCode(t, victim, freshIp())).statusCode).toBe(200);
    expect((await sendCode(t, victim, freshIp())).statusCode).toBe(200);
    expect(mailsTo(t, victim)).toHaveLength(2);
  });

  it('lifts both caps the next day', async () => {
    const email = freshEmail();
    const ip = freshIp();
    await sendCode(t, email, ip);
    await sendCode(t, email, ip);
    expectDailyLimit(await sendCode(t, email, ip));

    t.clock.advance(24 * 3600 * SECOND);
    expect((await sendCode(t, email, ip)).statusCode).toBe(200);
    expect(mailsTo(t, email)).toHaveLength(3);
  });
});
