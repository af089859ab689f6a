import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { adminToken, backends, createTestApp, freshIp, registerUser, type TestApp } from '#test/helpers/test-app.ts';
import { codeRow, MESSAGES, oneCode, redeem, REDEEM_ENV, registerUsers, snapshot } from './helpers.ts';

const WRONG = 'TG-0000-0000-0000-0000';
const WINDOW_SECONDS = 600;
const LIMITED = '兑换失败次数过多，请 10 分钟后重试';

function expectLimited(res: LightMyRequestResponse, retryAfter = WINDOW_SECONDS): void {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toMatchObject({
    success: false,
    statusCode: 429,
    error: 'Too Many Requests',
    code: 'REDEEM_TOO_MANY_ATTEMPTS',
    path: '/api/credits/redeem',
  });
  expect(res.headers['retry-after']).toBe(String(retryAfter));
}

describe.each(backends())('redeem attempt limits on $label', (backend) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp(backend, {
      env: {
        ...REDEEM_ENV,
        REDEEM_MAX_FAILURES_PER_USER: '3',
        REDEEM_MAX_FAILURES_PER_IP: '5',
        REDEEM_FAILURE_WINDOW: String(WINDOW_SECONDS),
      },
    });
    admin = await adminToken(t);
  });
  afterAll(() => t.close());

  it('refuses a user after REDEEM_MAX_FAILURES_PER_USER failures, even a valid code, until the window has passed', async () => {
    const user = await registerUser(t);
    for (let i = 0; i < 3; i++) {
      const res = await redeem(t, user, WRONG, freshIp());
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toBe(MESSAGES.invalid);
    }
    const code = await oneCode(t, admin, { credits: 300 });
    const before = await snapshot(t);
    const refused = await redeem(t, user, code.code, freshIp());
    expectLimited(refused);
    expect(refused.json().message).toBe(LIMITED);
    expect(await snapshot(t)).toEqual(before);

    // Someone else is not limited by this user's failures.
    const other = await registerUser(t);
    expect((await redeem(t, other, (await oneCode(t, admin)).code)).statusCode).toBe(200);

    t.clock.advance((WINDOW_SECONDS - 1) * 1000);
    expectLimited(await redeem(t, user, code.code), 1);
    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 0 });

    t.clock.advance(1000);
    const after = await redeem(t, user, code.code);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toMatchObject({ creditsAdded: 300, totalCredits: 1300 });
  });

  it('counts only failures: a success in between does not bring the limit closer', async () => {
    const user = await registerUser(t);
    expect((await redeem(t, user, WRONG)).statusCode).toBe(400);
    expect((await redeem(t, user, WRONG)).statusCode).toBe(400);
    expect((await redeem(t, user, (await oneCode(t, admin)).code)).statusCode).toBe(200);
    expect((await redeem(t, user, WRONG)).statusCode).toBe(400);
    expectLimited(await redeem(t, user, (await oneCode(t, admin)).code));
  });

  it('counts a used, a disabled and a repeated code as failures too', async () => {
    const [user, other] = await registerUsers(t, 2);
    const used = await oneCode(t, admin);
    expect((await redeem(t, other!, used.code)).statusCode).toBe(200);
    const disabled = await oneCode(t, admin);
    await t.app.inject({
      method: 'POST',
      url: `/api/admin/redeem-codes/${disabled.id}/disable`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect((await redeem(t, user!, used.code)).statusCode).toBe(409);
    expect((await redeem(t, user!, disabled.code)).statusCode).toBe(400);
    expect((await redeem(t, other!, used.code)).statusCode).toBe(409);
    expect((await redeem(t, user!, WRONG)).statusCode).toBe(400);
    expectLimited(await redeem(t, user!, WRONG));
  });

  it('refuses an IP after REDEEM_MAX_FAILURES_PER_IP failures from any users there, and only that IP', async () => {
    const ip = freshIp();
    const users = await registerUsers(t, 6);
    for (const user of users.slice(0, 5)) expect((await redeem(t, user, WRONG, ip)).statusCode).toBe(400);

    const late = users[5]!;
    const code = await oneCode(t, admin, { credits: 80 });
    const before = await snapshot(t);
    const refused = await redeem(t, late, code.code, ip);
    expectLimited(refused);
    expect(refused.json().message).toBe(LIMITED);
    expect(await snapshot(t)).toEqual(before);

    const elsewhere = await redeem(t, late, code.code, freshIp());
    expect(elsewhere.statusCode).toBe(200);
    expect(elsewhere.json()).toMatchObject({ creditsAdded: 80, totalCredits: 1080 });
  });

  it('does not let parallel guesses slip past the limit', async () => {
    const user = await registerUser(t);
    const answers = await Promise.all(Array.from({ length: 12 }, () => redeem(t, user, WRONG, freshIp())));
    expect(answers.filter((a) => a.statusCode === 400)).toHaveLength(3);
    const limited = answers.filter((a) => a.statusCode === 429);
    expect(limited).toHaveLength(9);
    for (const res of limited) expectLimited(res);

    const code = await oneCode(t, admin);
    expectLimited(await redeem(t, user, code.code));
    expect(await codeRow(t, code.id)).toMatchObject({ used_count: 0 });
  });

  it('does not let parallel guesses from many accounts slip past the IP limit', async () => {
    const ip = freshIp();
    const users = await registerUsers(t, 12);
    const answers = await Promise.all(users.map((user) => redeem(t, user, WRONG, ip)));
    expect(answers.filter((a) => a.statusCode === 400)).toHaveLength(5);
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(7);
  });
});
