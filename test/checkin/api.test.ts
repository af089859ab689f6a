import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import {
  backends,
  call,
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '#test/helpers/test-app.ts';
import {
  balance,
  checkIn,
  checkinRows,
  DAY,
  ledgerRows,
  MARCH_1_NOON_SHANGHAI,
  marchDay,
  status,
  userAt,
} from './helpers.ts';

const UNAUTHORIZED = '未登录或登录已过期';

describe.each(backends())('check-in API on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: LONG_SESSIONS });
  });
  afterAll(() => t.close());

  const history = (user: RegisteredUser, query = '') =>
    call(t.app, 'GET', `/api/checkin/history${query}`, { token: user.accessToken });

  /** A user who checked in on `days` consecutive days from 1 March; the clock is left on the last of them. */
  async function userWithDays(days: number): Promise<RegisteredUser> {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    for (let n = 0; n < days; n++) {
      if (n > 0) t.clock.advance(DAY);
      expect((await checkIn(t, user)).statusCode).toBe(200);
    }
    return user;
  }

  it('a person signs up with 1000 credits, checks in, and sees 1010 and the check-in in both histories', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    expect(await balance(t, user)).toBe(1000);
    expect(await status(t, user)).toEqual({ hasCheckedIn: false, consecutiveDays: 0, lastCheckinDate: null });

    const res = await checkIn(t, user);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      success: true,
      creditEarned: 10,
      consecutiveDays: 1,
      totalCredits: 1010,
      message: '签到成功，获得 10 积分，已连续签到 1 天',
    });
    expect(await balance(t, user)).toBe(1010);

    const credits = await call(t.app, 'GET', '/api/credits/history', { token: user.accessToken });
    expect(credits.statusCode).toBe(200);
    expect(credits.json().items.map((i: { type: string; amount: number }) => [i.type, i.amount])).toEqual([
      ['checkin', 10],
      ['signup_bonus', 1000],
    ]);

    const [row] = await checkinRows(t, user.id);
    const mine = await history(user);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toEqual({
      items: [{ id: row!.id, checkinDate: '2026-03-01', creditEarned: 10, consecutiveDays: 1 }],
      total: 1,
      page: 1,
      limit: 20,
    });
  });

  it('lets no request field choose the day or the reward', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    const body = { checkinDate: '2026-02-28', creditEarned: 1_000_000, consecutiveDays: 30, userId: 'someone-else' };
    const res = await call(t.app, 'POST', '/api/checkin?date=2026-02-28', { token: user.accessToken, body });
    expect(res.json()).toMatchObject({ creditEarned: 10, consecutiveDays: 1, totalCredits: 1010 });
    expect((await checkinRows(t, user.id)).map((r) => [r.checkin_date, r.credit_earned])).toEqual([['2026-03-01', 10]]);
  });

  it('answers in English when asked', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    expect((await checkIn(t, user, 'en')).json().message).toBe('Checked in: +10 credits, day 1 in a row');
  });

  it('lists check-ins newest first, paged, with the seed item fields only', async () => {
    const user = await userWithDays(5);
    const all = await history(user);
    expect(all.json()).toMatchObject({ total: 5, page: 1, limit: 20 });
    const items = all.json().items;
    expect(items.map((i: { checkinDate: string }) => i.checkinDate)).toEqual([4, 3, 2, 1, 0].map(marchDay));
    expect(items.map((i: { creditEarned: number }) => i.creditEarned)).toEqual([30, 25, 20, 15, 10]);
    expect(items.map((i: { consecutiveDays: number }) => i.consecutiveDays)).toEqual([5, 4, 3, 2, 1]);
    for (const item of items)
      expect(Object.keys(item).sort()).toEqual(['checkinDate', 'consecutiveDays', 'creditEarned', 'id']);
    expect(new Set(items.map((i: { id: string }) => i.id))).toEqual(
      new Set((await checkinRows(t, user.id)).map((r) => r.id)),
    );

    const pages = await Promise.all([1, 2, 3, 4].map((page) => history(user, `?page=${page}&limit=2`)));
    expect(pages.map((p) => p.json().items.length)).toEqual([2, 2, 1, 0]);
    for (const [i, p] of pages.entries()) expect(p.json()).toMatchObject({ total: 5, page: i + 1, limit: 2 });
    expect(pages.flatMap((p) => p.json().items.map((item: { id: string }) => item.id))).toEqual(
      items.map((i: { id: string }) => i.id),
    );
  });

  it('shows each user only their own check-ins and streak', async () => {
    const busy = await userWithDays(3);
    const idle = await registerUser(t);
    expect((await history(idle)).json()).toEqual({ items: [], total: 0, page: 1, limit: 20 });
    expect(await status(t, idle)).toEqual({ hasCheckedIn: false, consecutiveDays: 0, lastCheckinDate: null });
    expect((await history(busy)).json().total).toBe(3);
  });

  it.each([
    ['page=0', '?page=0'],
    ['limit=0', '?limit=0'],
    ['limit=101', '?limit=101'],
    ['page=abc', '?page=abc'],
    ['limit=1.5', '?limit=1.5'],
    ['an unknown parameter', '?sort=asc'],
  ])('refuses a history query with %s as a 400 envelope', async (_name, query) => {
    const user = await userWithDays(1);
    const res = await history(user, query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      success: false,
      statusCode: 400,
      error: 'Bad Request',
      code: 'VALIDATION_FAILED',
      path: `/api/checkin/history${query}`,
    });
    expect(res.json().message).toMatch(/^请求参数无效：/);
  });

  it('accepts the largest page size', async () => {
    const user = await userWithDays(2);
    expect((await history(user, '?limit=100')).json()).toMatchObject({ total: 2, page: 1, limit: 100 });
  });

  it('answers 401 without a valid token on every check-in route and writes nothing', async () => {
    const countAll = async () =>
      Number(
        (
          await t.app.services.database.db
            .selectFrom('checkins')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await countAll();
    for (const [method, url] of [
      ['POST', '/api/checkin'],
      ['GET', '/api/checkin/status'],
      ['GET', '/api/checkin/history'],
    ] as const) {
      for (const token of [undefined, 'not-a-token']) {
        const res = await call(t.app, method, url, token ? { token } : {});
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json()).toMatchObject({
          success: false,
          statusCode: 401,
          error: 'Unauthorized',
          message: UNAUTHORIZED,
          path: url,
        });
      }
    }
    expect(await countAll()).toBe(before);
  });

  it('refuses a signed-out session, and the check-in of that session is not made', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    expect(
      (await call(t.app, 'POST', '/api/auth/logout', { token: user.accessToken, body: {} })).statusCode,
    ).toBeLessThan(300);
    expect((await checkIn(t, user)).statusCode).toBe(401);
    expect(await checkinRows(t, user.id)).toHaveLength(0);
    expect(await ledgerRows(t, user.id, 'checkin')).toHaveLength(0);
  });
});
