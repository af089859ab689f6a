import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE } from '#test/helpers/clock.ts';
import {
  backends,
  call,
  createTestApp,
  freshIp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

const WRONG_PASSWORD = 'Wr0ngPassword';

/** Sign-in helpers bound to one app. */
function loginKit(get: () => TestApp) {
  async function solvedCaptcha() {
    const t = get();
    const { sessionId } = (await call(t.app, 'GET', '/api/captcha/generate')).json();
    return { captchaSessionId: sessionId as string, captchaCode: (await t.app.services.captcha.peek(sessionId))! };
  }
  return {
    solvedCaptcha,
    login: (body: Record<string, unknown>, ip: string) => call(get().app, 'POST', '/api/auth/login', { body, ip }),
    async status(email: string) {
      return (
        await call(get().app, 'GET', `/api/auth/login-status?email=${encodeURIComponent(email)}`, { ip: freshIp() })
      ).json();
    },
    /** Fails `times` times from `ip`, with a solved captcha whenever one is due. */
    async fail(user: RegisteredUser, ip: string, times: number) {
      const last = [];
      for (let i = 0; i < times; i++) {
        last.push(
          await call(get().app, 'POST', '/api/auth/login', {
            body: { email: user.email, password: WRONG_PASSWORD, ...(await solvedCaptcha()) },
            ip,
          }),
        );
      }
      return last.at(-1)!;
    },
  };
}

describe.each(backends())('account lock on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());
  const kit = loginKit(() => t);

  it('lasts 15 minutes, counts down, then the right password with a captcha signs in and clears everything', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    expect((await kit.fail(user, ip, 5)).json().message).toBe('账户已被锁定，请在 15 分钟后重试');

    t.clock.advance(10 * MINUTE);
    expect(await kit.status(user.email)).toEqual({
      requiresCaptcha: true,
      isLocked: true,
      failureCount: 5,
      remainingLockTime: 5 * 60,
    });
    const stillLocked = await kit.login(
      { email: user.email, password: user.password, ...(await kit.solvedCaptcha()) },
      ip,
    );
    expect(stillLocked.statusCode).toBe(401);
    expect(stillLocked.json().message).toBe('账户已被锁定，请在 5 分钟后重试');
    expect(Number(stillLocked.headers['retry-after'])).toBe(5 * 60);

    t.clock.advance(5 * MINUTE);
    expect(await kit.status(user.email)).toMatchObject({
      requiresCaptcha: true,
      isLocked: false,
      remainingLockTime: 0,
    });
    expect((await kit.login({ email: user.email, password: user.password }, ip)).json().message).toBe(
      '需要输入图形验证码',
    );

    const signedIn = await kit.login(
      { email: user.email, password: user.password, ...(await kit.solvedCaptcha()) },
      ip,
    );
    expect(signedIn.statusCode).toBe(200);
    expect(await kit.status(user.email)).toEqual({
      requiresCaptcha: false,
      isLocked: false,
      failureCount: 0,
      remainingLockTime: 0,
    });

    // A fresh start: the next mistake is an ordinary one.
    const next = await kit.login({ email: user.email, password: WRONG_PASSWORD }, ip);
    expect(next.json().message).toBe('邮箱或密码错误');
  });

  it('locks again at the first failure after a lock has run out', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    await kit.fail(user, ip, 5);
    t.clock.advance(15 * MINUTE);
    expect((await kit.status(user.email)).isLocked).toBe(false);

    const again = await kit.fail(user, ip, 1);
    expect(again.statusCode).toBe(401);
    expect(again.json().message).toBe('账户已被锁定，请在 15 分钟后重试');
    expect(await kit.status(user.email)).toMatchObject({ isLocked: true, remainingLockTime: 15 * 60 });
  });

  it('keeps other accounts open while one is locked', async () => {
    const locked = await registerUser(t);
    const other = await registerUser(t);
    await kit.fail(locked, freshIp(), 5);
    expect((await kit.login({ email: other.email, password: other.password }, freshIp())).statusCode).toBe(200);
  });
});

describe.each(backends())('configurable sign-in thresholds on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, {
      env: { LOGIN_CAPTCHA_AFTER: '1', LOGIN_LOCK_AFTER: '2', LOGIN_LOCK_MINUTES: '3' },
    });
  });
  afterAll(() => t.close());
  const kit = loginKit(() => t);

  it('follows LOGIN_CAPTCHA_AFTER, LOGIN_LOCK_AFTER and LOGIN_LOCK_MINUTES', async () => {
    const user = await registerUser(t);
    const ip = freshIp();
    expect((await kit.login({ email: user.email, password: WRONG_PASSWORD }, ip)).json().message).toBe(
      '邮箱或密码错误',
    );
    expect(await kit.status(user.email)).toEqual({
      requiresCaptcha: true,
      isLocked: false,
      failureCount: 1,
      remainingLockTime: 0,
    });
    expect((await kit.login({ email: user.email, password: user.password }, ip)).json().message).toBe(
      '需要输入图形验证码',
    );

    const second = await kit.fail(user, ip, 1);
    expect(second.json().message).toBe('账户已被锁定，请在 3 分钟后重试');
    expect(await kit.status(user.email)).toEqual({
      requiresCaptcha: true,
      isLocked: true,
      failureCount: 2,
      remainingLockTime: 3 * 60,
    });

    t.clock.advance(3 * MINUTE);
    expect(
      (await kit.login({ email: user.email, password: user.password, ...(await kit.solvedCaptcha()) }, ip)).statusCode,
    ).toBe(200);
  });
});
