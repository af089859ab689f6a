import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHECKIN_REWARD, rewardFor } from '#modules/checkin/checkin.rules.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { backends, createTestApp, type TestApp } from '#test/helpers/test-app.ts';
import {
  ALREADY_CHECKED_IN,
  balance,
  checkIn,
  checkinRows,
  DAY,
  expectBalanceIsLedgerSum,
  HOUR,
  ledgerRows,
  MARCH_1_NOON_SHANGHAI,
  marchDay,
  status,
  userAt,
} from './helpers.ts';

/**
 * Seed 000 day by day: 10 + 5·(n−1), +50 on day 7, +100 on day 15, +200 on day 30, and "+5 for each
 * consecutive day" with no cap (CHECKIN_STREAK_CAP=0, the default), so day 31 earns 160 and day 40 205.
 */
const SEED_REWARDS = Array.from({ length: 40 }, (_, i) => 10 + 5 * i + ({ 7: 50, 15: 100, 30: 200 }[i + 1] ?? 0));

describe.each(backends())('check-in streaks on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend, { env: LONG_SESSIONS });
  });
  afterAll(() => t.close());

  it('walks a user through 40 consecutive days with the seed reward of each day and the milestones, uncapped', async () => {
    expect(SEED_REWARDS.slice(0, 8)).toEqual([10, 15, 20, 25, 30, 35, 40 + 50, 45]);
    expect(SEED_REWARDS.slice(28)).toEqual([150, 155 + 200, 160, 165, 170, 175, 180, 185, 190, 195, 200, 205]);
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    let total = 1000;
    for (let n = 1; n <= 40; n++) {
      const earned = SEED_REWARDS[n - 1]!;
      total += earned;
      const res = await checkIn(t, user);
      expect(res.statusCode, `day ${n}`).toBe(200);
      expect(res.json(), `day ${n}`).toEqual({
        success: true,
        creditEarned: earned,
        consecutiveDays: n,
        totalCredits: total,
        message: `签到成功，获得 ${earned} 积分，已连续签到 ${n} 天`,
      });
      expect(await status(t, user), `day ${n}`).toEqual({
        hasCheckedIn: true,
        consecutiveDays: n,
        lastCheckinDate: marchDay(n - 1),
      });
      t.clock.advance(DAY);
    }

    expect(await balance(t, user)).toBe(1000 + 4_650);
    expect(total).toBe(1000 + 4_650);
    const rows = await checkinRows(t, user.id);
    expect(rows.map((r) => [r.checkin_date, r.consecutive_days, r.credit_earned])).toEqual(
      SEED_REWARDS.map((earned, i) => [marchDay(i), i + 1, earned]),
    );
    const ledger = await ledgerRows(t, user.id, 'checkin');
    expect(ledger.map((r) => r.amount)).toEqual(SEED_REWARDS);
    expect(ledger.map((r) => r.balance_after)).toEqual(
      SEED_REWARDS.map((_, i) => 1000 + SEED_REWARDS.slice(0, i + 1).reduce((a, b) => a + b, 0)),
    );
    expect(new Set(ledger.map((r) => r.idempotency_key)).size).toBe(40);
    await expectBalanceIsLedgerSum(t, user);
  });

  it('keeps the streak alive through the next day, and a missed day restarts it at 1', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    for (const expected of [10, 15, 20]) {
      expect((await checkIn(t, user)).json().creditEarned).toBe(expected);
      t.clock.advance(DAY);
    }
    // Day 4 (2026-03-04): not checked in yet, the streak of 3 still stands.
    expect(await status(t, user)).toEqual({ hasCheckedIn: false, consecutiveDays: 3, lastCheckinDate: '2026-03-03' });

    // Day 4 is missed. On day 5 the streak is gone before the check-in...
    t.clock.advance(DAY);
    expect(await status(t, user)).toEqual({ hasCheckedIn: false, consecutiveDays: 0, lastCheckinDate: '2026-03-03' });
    const restart = await checkIn(t, user);
    expect(restart.statusCode).toBe(200);
    expect(restart.json()).toMatchObject({ creditEarned: 10, consecutiveDays: 1, totalCredits: 1000 + 45 + 10 });
    expect(await status(t, user)).toEqual({ hasCheckedIn: true, consecutiveDays: 1, lastCheckinDate: '2026-03-05' });

    // ...and grows again from there.
    t.clock.advance(DAY);
    expect((await checkIn(t, user)).json()).toMatchObject({
      creditEarned: 15,
      consecutiveDays: 2,
      totalCredits: 1000 + 45 + 10 + 15,
    });
    expect((await checkinRows(t, user.id)).map((r) => r.consecutive_days)).toEqual([1, 2, 3, 1, 2]);
    await expectBalanceIsLedgerSum(t, user);
  });

  it('a week-long gap also restarts the streak, and the milestone of day 7 needs 7 days in a row', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    for (let n = 1; n <= 6; n++) {
      await checkIn(t, user);
      t.clock.advance(DAY);
    }
    t.clock.advance(7 * DAY);
    expect(await status(t, user)).toMatchObject({ hasCheckedIn: false, consecutiveDays: 0 });
    expect((await checkIn(t, user)).json()).toMatchObject({ creditEarned: 10, consecutiveDays: 1 });
    expect((await ledgerRows(t, user.id, 'checkin')).map((r) => r.amount)).toEqual([10, 15, 20, 25, 30, 35, 10]);
  });

  it('refuses a second check-in the same day with a 409 naming the state, and writes nothing', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    expect((await checkIn(t, user)).statusCode).toBe(200);

    for (const later of [0, 1 * HOUR, 11 * HOUR + 59 * 60_000]) {
      t.clock.set(MARCH_1_NOON_SHANGHAI + later);
      const again = await checkIn(t, user);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({
        success: false,
        statusCode: 409,
        error: 'Conflict',
        message: ALREADY_CHECKED_IN,
        path: '/api/checkin',
      });
      expect(typeof again.json().timestamp).toBe('string');
    }
    const english = await checkIn(t, user, 'en');
    expect(english.statusCode).toBe(409);
    expect(english.json().message).toBe('Already checked in today; come back tomorrow');

    expect(await checkinRows(t, user.id)).toHaveLength(1);
    expect(await ledgerRows(t, user.id, 'checkin')).toHaveLength(1);
    expect(await balance(t, user)).toBe(1010);
    expect(await status(t, user)).toEqual({ hasCheckedIn: true, consecutiveDays: 1, lastCheckinDate: '2026-03-01' });
  });

  it('gives 20 concurrent check-ins of one user exactly one success, one row and one ledger row', async () => {
    const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkIn(t, user)));
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes).toEqual([200, ...Array<number>(19).fill(409)]);
    for (const refused of answers.filter((a) => a.statusCode === 409))
      expect(refused.json().message).toBe(ALREADY_CHECKED_IN);
    expect(answers.find((a) => a.statusCode === 200)!.json()).toMatchObject({
      creditEarned: 10,
      consecutiveDays: 1,
      totalCredits: 1010,
    });

    expect(await checkinRows(t, user.id)).toHaveLength(1);
    expect(await ledgerRows(t, user.id, 'checkin')).toHaveLength(1);
    expect(await balance(t, user)).toBe(1010);
    await expectBalanceIsLedgerSum(t, user);

    // The next day the same race again gives exactly one day-2 check-in.
    t.clock.advance(DAY);
    const next = await Promise.all(Array.from({ length: 20 }, () => checkIn(t, user)));
    expect(next.filter((a) => a.statusCode === 200)).toHaveLength(1);
    expect(next.filter((a) => a.statusCode === 409)).toHaveLength(19);
    expect(await balance(t, user)).toBe(1025);
    expect(await checkinRows(t, user.id)).toHaveLength(2);
  });
});

describe.each(backends())('check-in streak caps on $label', (backend) => {
  it("a positive CHECKIN_STREAK_CAP caps the streak part: with 145, day 30 is the seed's and every later day earns 155", async () => {
    const t = await createTestApp(backend, { env: { ...LONG_SESSIONS, CHECKIN_STREAK_CAP: '145' } });
    try {
      const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
      const earned: number[] = [];
      for (let n = 1; n <= 32; n++) {
        earned.push((await checkIn(t, user)).json().creditEarned);
        t.clock.advance(DAY);
      }
      expect(earned.slice(27)).toEqual([145, 150, 155 + 200, 155, 155]);
      await expectBalanceIsLedgerSum(t, user);
    } finally {
      await t.close();
    }
  });

  it('an uncapped reward never passes the largest single grant, however long the streak or large the settings', async () => {
    const huge = String(Number.MAX_SAFE_INTEGER);
    const t = await createTestApp(backend, {
      env: { ...LONG_SESSIONS, CHECKIN_BASE: huge, CHECKIN_STREAK_STEP: huge, CHECKIN_MILESTONES: `2:${huge}` },
    });
    try {
      const user = await userAt(t, MARCH_1_NOON_SHANGHAI);
      for (let n = 1; n <= 3; n++) {
        const res = await checkIn(t, user);
        expect(res.statusCode, `day ${n}`).toBe(200);
        expect(res.json(), `day ${n}`).toMatchObject({
          creditEarned: MAX_CHECKIN_REWARD,
          consecutiveDays: n,
          totalCredits: 1000 + n * MAX_CHECKIN_REWARD,
        });
        t.clock.advance(DAY);
      }
      expect((await ledgerRows(t, user.id, 'checkin')).map((r) => r.amount)).toEqual([
        MAX_CHECKIN_REWARD,
        MAX_CHECKIN_REWARD,
        MAX_CHECKIN_REWARD,
      ]);
      await expectBalanceIsLedgerSum(t, user);
    } finally {
      await t.close();
    }
  });
});

describe('the check-in reward bound', () => {
  it('with the default rules a streak of ten thousand years still earns a whole number below the bound', () => {
    const rules = { base: 10, streakStep: 5, streakCap: 0, milestones: new Map([[7, 50]]) };
    expect(rewardFor(3_650_000, rules)).toBe(10 + 5 * 3_649_999);
    expect(rewardFor(Number.MAX_SAFE_INTEGER, rules)).toBe(MAX_CHECKIN_REWARD);
  });
});
