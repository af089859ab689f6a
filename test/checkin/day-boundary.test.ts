import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#core/config.ts';
import { LONG_SESSIONS } from '#test/helpers/clock.ts';
import { backends, createTestApp, TEST_SECRETS, type TestApp } from '#test/helpers/test-app.ts';
import { ALREADY_CHECKED_IN, balance, checkIn, checkinRows, DAY, ledgerRows, status, userAt } from './helpers.ts';

const at = (iso: string) => Date.parse(iso);

describe.each(backends())('the check-in day on $label', (backend) => {
  describe('in the default CHECKIN_TZ (Asia/Shanghai, midnight = 16:00 UTC)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend, { env: LONG_SESSIONS });
    });
    afterAll(() => t.close());

    it('counts 15:59:59Z and 16:00:00Z as two days in a row', async () => {
      const user = await userAt(t, at('2026-03-01T15:59:59Z'));
      const before = await checkIn(t, user);
      expect(before.statusCode).toBe(200);
      expect(before.json()).toMatchObject({ creditEarned: 10, consecutiveDays: 1 });

      t.clock.set(at('2026-03-01T16:00:00Z'));
      expect(await status(t, user)).toEqual({ hasCheckedIn: false, consecutiveDays: 1, lastCheckinDate: '2026-03-01' });
      const after = await checkIn(t, user);
      expect(after.statusCode).toBe(200);
      expect(after.json()).toMatchObject({ creditEarned: 15, consecutiveDays: 2, totalCredits: 1025 });
      expect((await checkinRows(t, user.id)).map((r) => r.checkin_date)).toEqual(['2026-03-01', '2026-03-02']);
    });

    it('counts 23:59Z and 00:01Z of the next UTC day as the same Shanghai day', async () => {
      const user = await userAt(t, at('2026-03-01T23:59:00Z'));
      expect((await checkIn(t, user)).statusCode).toBe(200);

      t.clock.set(at('2026-03-02T00:01:00Z'));
      const again = await checkIn(t, user);
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toBe(ALREADY_CHECKED_IN);
      expect(await status(t, user)).toEqual({ hasCheckedIn: true, consecutiveDays: 1, lastCheckinDate: '2026-03-02' });
      expect(await checkinRows(t, user.id)).toHaveLength(1);
      expect(await ledgerRows(t, user.id, 'checkin')).toHaveLength(1);
      expect(await balance(t, user)).toBe(1010);
    });

    it('breaks the streak when a Shanghai day is skipped, even if the check-ins are only 25.5 hours apart', async () => {
      // 2026-03-01 23:00 Shanghai, then 2026-03-03 00:30 Shanghai: 03-02 was missed.
      const user = await userAt(t, at('2026-03-01T15:00:00Z'));
      expect((await checkIn(t, user)).json().consecutiveDays).toBe(1);
      t.clock.set(at('2026-03-02T16:30:00Z'));
      expect(await status(t, user)).toMatchObject({ hasCheckedIn: false, consecutiveDays: 0 });
      expect((await checkIn(t, user)).json()).toMatchObject({ creditEarned: 10, consecutiveDays: 1 });
    });

    it('keeps the streak across check-ins 47 hours apart on consecutive Shanghai days', async () => {
      const user = await userAt(t, at('2026-02-28T16:00:30Z')); // 03-01 00:00:30 Shanghai
      expect((await checkIn(t, user)).statusCode).toBe(200);
      t.clock.set(at('2026-03-02T15:59:00Z')); // 03-02 23:59 Shanghai
      expect((await checkIn(t, user)).json()).toMatchObject({ creditEarned: 15, consecutiveDays: 2 });
    });
  });

  describe('with CHECKIN_TZ=UTC', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend, { env: { ...LONG_SESSIONS, CHECKIN_TZ: 'UTC' } });
    });
    afterAll(() => t.close());

    it('moves the boundary to midnight UTC', async () => {
      const user = await userAt(t, at('2026-03-01T15:59:59Z'));
      expect((await checkIn(t, user)).statusCode).toBe(200);

      for (const sameDay of ['2026-03-01T16:00:00Z', '2026-03-01T23:59:59Z']) {
        t.clock.set(at(sameDay));
        const again = await checkIn(t, user);
        expect(again.statusCode, sameDay).toBe(409);
        expect(again.json().message).toBe(ALREADY_CHECKED_IN);
      }

      t.clock.set(at('2026-03-02T00:00:00Z'));
      const next = await checkIn(t, user);
      expect(next.statusCode).toBe(200);
      expect(next.json()).toMatchObject({ creditEarned: 15, consecutiveDays: 2, totalCredits: 1025 });
      expect((await checkinRows(t, user.id)).map((r) => r.checkin_date)).toEqual(['2026-03-01', '2026-03-02']);
      expect(await status(t, user)).toEqual({ hasCheckedIn: true, consecutiveDays: 2, lastCheckinDate: '2026-03-02' });
    });
  });

  describe('with configured rules', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(backend, {
        env: {
          ...LONG_SESSIONS,
          CHECKIN_BASE: '20',
          CHECKIN_STREAK_STEP: '3',
          CHECKIN_STREAK_CAP: '6',
          CHECKIN_MILESTONES: '2:7,4:1',
        },
      });
    });
    afterAll(() => t.close());

    it('earns base + step per day after the first (capped) + the configured milestones', async () => {
      const user = await userAt(t, at('2026-03-01T04:00:00Z'));
      // day 1: 20; day 2: 20+3+7; day 3: 20+6; day 4: 20+6(cap)+1; day 5: 20+6; day 7 (a seed milestone): no bonus here.
      const expected = [20, 30, 26, 27, 26, 26, 26];
      for (const [i, earned] of expected.entries()) {
        expect((await checkIn(t, user)).json(), `day ${i + 1}`).toMatchObject({
          creditEarned: earned,
          consecutiveDays: i + 1,
        });
        t.clock.advance(DAY);
      }
      expect((await ledgerRows(t, user.id, 'checkin')).map((r) => r.amount)).toEqual(expected);
      expect(await balance(t, user)).toBe(1000 + expected.reduce((a, b) => a + b, 0));
    });
  });
});

describe('check-in settings at start-up', () => {
  const start = (env: Record<string, string>) => () => loadConfig({ NODE_ENV: 'test', ...TEST_SECRETS, ...env });

  it('refuses an unknown CHECKIN_TZ, naming it and the value', () => {
    expect(start({ CHECKIN_TZ: 'Mars/Olympus_Mons' })).toThrow(ConfigError);
    expect(start({ CHECKIN_TZ: 'Mars/Olympus_Mons' })).toThrow(/CHECKIN_TZ.*Mars\/Olympus_Mons/);
  });

  it('refuses malformed check-in rules, naming the variable', () => {
    expect(start({ CHECKIN_MILESTONES: '7=50' })).toThrow(/CHECKIN_MILESTONES/);
    expect(start({ CHECKIN_BASE: '-1' })).toThrow(/CHECKIN_BASE/);
    expect(start({ CHECKIN_STREAK_STEP: '2.5' })).toThrow(/CHECKIN_STREAK_STEP/);
    expect(start({ CHECKIN_STREAK_CAP: 'many' })).toThrow(/CHECKIN_STREAK_CAP/);
  });

  it('accepts any IANA zone and defaults to Asia/Shanghai with the seed rules', () => {
    expect(start({ CHECKIN_TZ: 'America/New_York' })().CHECKIN_TZ).toBe('America/New_York');
    expect(start({})()).toMatchObject({
      CHECKIN_TZ: 'Asia/Shanghai',
      CHECKIN_BASE: 10,
      CHECKIN_STREAK_STEP: 5,
      CHECKIN_STREAK_CAP: 0,
      CHECKIN_MILESTONES: '7:50,15:100,30:200',
    });
  });
});
