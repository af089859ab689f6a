import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIn, DAY, MARCH_1_NOON_SHANGHAI, userAt } from '#test/checkin/helpers.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import {
  adminToken,
  ADMIN_ENV,
  backends,
  call,
  createTestApp,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';

describe.each(backends())('user stats on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: { ...ADMIN_ENV, ...LONG_SESSIONS } });
  });
  afterAll(() => t.close());

  async function stats(user: RegisteredUser) {
    const res = await call(t.app, 'GET', '/api/user/stats', { token: user.accessToken });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  it('starts at 1000 credits, no calls and no check-ins after sign-up, in the seed shape', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    const body = await stats(user);
    expect(body).toEqual({ totalCredits: 1000, totalApiCalls: 0, totalCheckins: 0, consecutiveCheckins: 0 });
  });

  it('follows check-ins over several days, a missed day and the new streak', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    const days: { credits: number; checkins: number; streak: number }[] = [];
    for (let n = 1; n <= 3; n++) {
      expect((await checkIn(t, user)).statusCode).toBe(200);
      const now = await stats(user);
      days.push({ credits: now.totalCredits, checkins: now.totalCheckins, streak: now.consecutiveCheckins });
      t.clock.advance(DAY);
    }
    expect(days).toEqual([
      { credits: 1010, checkins: 1, streak: 1 },
      { credits: 1025, checkins: 2, streak: 2 },
      { credits: 1045, checkins: 3, streak: 3 },
    ]);

    // Day 4, not checked in yet: the streak still stands.
    expect(await stats(user)).toEqual({
      totalCredits: 1045,
      totalApiCalls: 0,
      totalCheckins: 3,
      consecutiveCheckins: 3,
    });

    // Day 4 is missed: on day 5 the streak is 0 while the count and the credits stay.
    t.clock.advance(DAY);
    expect(await stats(user)).toEqual({
      totalCredits: 1045,
      totalApiCalls: 0,
      totalCheckins: 3,
      consecutiveCheckins: 0,
    });

    expect((await checkIn(t, user)).statusCode).toBe(200);
    expect(await stats(user)).toEqual({
      totalCredits: 1055,
      totalApiCalls: 0,
      totalCheckins: 4,
      consecutiveCheckins: 1,
    });
  });

  it('counts credits from every source, and a refused check-in changes nothing', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    const admin = await adminToken(t);
    const made = await call(t.app, 'POST', '/api/admin/redeem-codes', {
      token: admin,
      body: { count: 1, credits: 500 },
    });
    const code = made.json().codes[0].code as string;
    expect(
      (await call(t.app, 'POST', '/api/credits/redeem', { token: user.accessToken, body: { code } })).statusCode,
    ).toBe(200);
    expect((await checkIn(t, user)).statusCode).toBe(200);
    expect((await checkIn(t, user)).statusCode).toBe(409);
    expect(await stats(user)).toEqual({
      totalCredits: 1510,
      totalApiCalls: 0,
      totalCheckins: 1,
      consecutiveCheckins: 1,
    });
  });

  it('shows each user their own numbers', async () => {
    const busy = await userAt(t, MARCH_1_NOON_SHANGHAI);
    await checkIn(t, busy);
    const idle = await userAt(t, MARCH_1_NOON_SHANGHAI);
    expect(await stats(idle)).toEqual({
      totalCredits: 1000,
      totalApiCalls: 0,
      totalCheckins: 0,
      consecutiveCheckins: 0,
    });
  });

  it('answers 401 without a valid token', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const res = await call(t.app, 'GET', '/api/user/stats', token ? { token } : {});
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({
        success: false,
        statusCode: 401,
        error: 'Unauthorized',
        message: '未登录或登录已过期',
        path: '/api/user/stats',
      });
    }
  });
});
