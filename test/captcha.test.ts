import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '#test/helpers/clock.ts';
import { backends, call, createTestApp, freshIp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

const CHECK_FAILED = '验证码无效或已过期';

/** Captcha helpers bound to one app. */
function captchaKit(get: () => TestApp) {
  return {
    async generate() {
      const res = await call(get().app, 'GET', '/api/captcha/generate');
      expect(res.statusCode).toBe(200);
      const { sessionId } = res.json();
      return { sessionId: sessionId as string, answer: (await get().app.services.captcha.peek(sessionId))! };
    },
    verify: (sessionId: string, code: string, lang?: string) =>
      call(get().app, 'POST', '/api/captcha/verify', { body: { sessionId, code }, ...(lang ? { lang } : {}) }),
  };
}

function expectRejected(res: Awaited<ReturnType<ReturnType<typeof captchaKit>['verify']>>) {
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({ success: false, statusCode: 400, message: CHECK_FAILED, valid: false });
}

describe.each(backends())('captcha on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());
  const kit = captchaKit(() => t);

  it('generates a session id and SVG markup, never cached, different every time', async () => {
    const res = await call(t.app, 'GET', '/api/captcha/generate');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['captcha', 'sessionId']);
    expect(body.captcha.startsWith('<svg')).toBe(true);
    expect(body.captcha.trimEnd().endsWith('</svg>')).toBe(true);
    const answer = await t.app.services.captcha.peek(body.sessionId);
    expect(answer).toMatch(/^[A-Za-z0-9]{4}$/);
    // The letters are drawn as paths: the answer is not in the markup as text.
    expect(body.captcha).not.toMatch(/<text/);
    expect((await kit.generate()).sessionId).not.toBe(body.sessionId);
  });

  it('verifies a correct answer and leaves the captcha for exactly one login', async () => {
    const { sessionId, answer } = await kit.generate();
    const res = await kit.verify(sessionId, answer);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ message: '验证码验证成功', valid: true });

    const user = await registerUser(t);
    const ip = freshIp();
    for (let i = 0; i < t.config.LOGIN_CAPTCHA_AFTER; i++) {
      await call(t.app, 'POST', '/api/auth/login', { body: { email: user.email, password: 'Wr0ngPassword' }, ip });
    }
    const login = (extra: object) =>
      call(t.app, 'POST', '/api/auth/login', { body: { email: user.email, password: 'Wr0ngPassword', ...extra }, ip });
    const first = await login({ captchaSessionId: sessionId, captchaCode: answer });
    expect(first.json().message).toBe('邮箱或密码错误');

    const reused = await login({ captchaSessionId: sessionId, captchaCode: answer, password: user.password });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().message).toBe('图形验证码错误或已过期');
    expectRejected(await kit.verify(sessionId, answer));
  });

  it('rejects a wrong answer with valid:false and burns the captcha', async () => {
    const { sessionId, answer } = await kit.generate();
    expectRejected(await kit.verify(sessionId, answer === 'zzzz' ? 'yyyy' : 'zzzz'));
    expectRejected(await kit.verify(sessionId, answer));
    expect(await t.app.services.captcha.peek(sessionId)).toBeNull();
  });

  it('is case-sensitive', async () => {
    let captcha = await kit.generate();
    while (!/[A-Za-z]/.test(captcha.answer)) captcha = await kit.generate();
    const swapped = [...captcha.answer]
      .map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()))
      .join('');
    expectRejected(await kit.verify(captcha.sessionId, swapped));
    expectRejected(await kit.verify(captcha.sessionId, captcha.answer));
  });

  it('rejects an unknown session id', async () => {
    expectRejected(await kit.verify('no-such-captcha', 'ABCD'));
  });

  it('refuses malformed verify requests with 400 and leaves the captcha alone', async () => {
    const { sessionId, answer } = await kit.generate();
    for (const body of [
      { sessionId },
      { code: answer },
      { sessionId, code: 1234 },
      { sessionId, code: answer, extra: 1 },
      { sessionId, code: '' },
    ]) {
      const res = await call(t.app, 'POST', '/api/captcha/verify', { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
    }
    expect((await kit.verify(sessionId, answer)).statusCode).toBe(200);
  });

  it('speaks English when asked', async () => {
    const { sessionId, answer } = await kit.generate();
    expect((await kit.verify(sessionId, answer, 'en')).json()).toEqual({ message: 'Captcha verified', valid: true });
    expect((await kit.verify('no-such-captcha', 'ABCD', 'en')).json().message).toBe(
      'The captcha is invalid or has expired',
    );
  });
});

describe.each(backends())('captcha expiry on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());
  const kit = captchaKit(() => t);

  it('lives 10 minutes', async () => {
    const young = await kit.generate();
    const old = await kit.generate();
    t.clock.advance(10 * MINUTE - 1000);
    expect((await kit.verify(young.sessionId, young.answer)).statusCode).toBe(200);
    t.clock.advance(1000);
    expectRejected(await kit.verify(old.sessionId, old.answer));
  });

  it('cannot pass a login once expired', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    for (let i = 0; i < t.config.LOGIN_CAPTCHA_AFTER; i++) {
      await call(t.app, 'POST', '/api/auth/login', { body: { email: user.email, password: 'Wr0ngPassword' }, ip });
    }
    const { sessionId, answer } = await kit.generate();
    t.clock.advance(10 * MINUTE);
    const res = await call(t.app, 'POST', '/api/auth/login', {
      body: { email: user.email, password: user.password, captchaSessionId: sessionId, captchaCode: answer },
      ip,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('图形验证码错误或已过期');
  });
});
