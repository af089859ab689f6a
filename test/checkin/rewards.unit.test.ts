import { describe, expect, it } from 'vitest';
import {
  liveStreak,
  localDate,
  parseMilestones,
  previousDate,
  rewardFor,
  streakOn,
  type CheckinRules,
} from '#modules/checkin/checkin.rules.ts';

const MILESTONES = parseMilestones('7:50,15:100,30:200');
/** Seed 000's rules: 10, +5 for each consecutive day after the first, +50/+100/+200 on days 7/15/30; the streak bonus capped at 145. */
const CAPPED: CheckinRules = { base: 10, streakStep: 5, streakCap: 145, milestones: MILESTONES };
/** The same with a cap no streak reaches. */
const UNCAPPED: CheckinRules = { ...CAPPED, streakCap: Number.MAX_SAFE_INTEGER };

describe('rewardFor: base + step × (day − 1), capped, + the milestone of the day', () => {
  it.each([
    { day: 1, rules: CAPPED, credits: 10 },
    { day: 2, rules: CAPPED, credits: 15 },
    { day: 6, rules: CAPPED, credits: 35 },
    { day: 7, rules: CAPPED, credits: 90 },
    { day: 8, rules: CAPPED, credits: 45 },
    { day: 15, rules: CAPPED, credits: 180 },
    { day: 29, rules: CAPPED, credits: 150 },
    { day: 30, rules: CAPPED, credits: 355 },
    { day: 31, rules: CAPPED, credits: 155 },
    { day: 100, rules: CAPPED, credits: 155 },
    { day: 31, rules: UNCAPPED, credits: 160 },
    { day: 100, rules: UNCAPPED, credits: 505 },
    { day: 3, rules: { base: 20, streakStep: 3, streakCap: 6, milestones: parseMilestones('2:7,4:1') }, credits: 26 },
    { day: 4, rules: { base: 20, streakStep: 3, streakCap: 6, milestones: parseMilestones('2:7,4:1') }, credits: 27 },
    { day: 5, rules: { base: 0, streakStep: 0, streakCap: 0, milestones: new Map() }, credits: 0 },
  ])('day $day, cap $rules.streakCap → $credits', ({ day, rules, credits }) => {
    expect(rewardFor(day, rules)).toBe(credits);
  });
});

describe('CHECKIN_MILESTONES: `day:credits,…`', () => {
  it.each([
    {
      text: '7:50,15:100,30:200',
      milestones: [
        [7, 50],
        [15, 100],
        [30, 200],
      ],
    },
    {
      text: ' 7:50 , 15:100 ',
      milestones: [
        [7, 50],
        [15, 100],
      ],
    },
    { text: '7:50,', milestones: [[7, 50]] },
    { text: '', milestones: [] },
    { text: '7:50,7:60', milestones: [[7, 60]] },
  ])('"$text" is read', ({ text, milestones }) => {
    expect([...parseMilestones(text)]).toEqual(milestones);
  });

  it.each(['7-50', '7:', ':50', 'a:1', '7:50:1', '7:-5', '7.5:50'])('"%s" is refused', (text) => {
    expect(() => parseMilestones(text)).toThrow(/bad milestone/);
  });
});

describe('the check-in day is the calendar day in CHECKIN_TZ', () => {
  it.each([
    { at: '2026-03-01T15:59:59Z', timeZone: 'Asia/Shanghai', day: '2026-03-01' },
    { at: '2026-03-01T16:00:00Z', timeZone: 'Asia/Shanghai', day: '2026-03-02' },
    { at: '2026-03-01T23:59:59Z', timeZone: 'UTC', day: '2026-03-01' },
    { at: '2026-03-02T00:00:00Z', timeZone: 'UTC', day: '2026-03-02' },
    { at: '2026-03-02T04:59:59Z', timeZone: 'America/New_York', day: '2026-03-01' },
    { at: '2025-12-31T16:00:00Z', timeZone: 'Asia/Shanghai', day: '2026-01-01' },
  ])('$at in $timeZone is $day', ({ at, timeZone, day }) => {
    expect(localDate(Date.parse(at), timeZone)).toBe(day);
  });

  it.each([
    { date: '2026-03-02', before: '2026-03-01' },
    { date: '2026-03-01', before: '2026-02-28' },
    { date: '2024-03-01', before: '2024-02-29' },
    { date: '2026-01-01', before: '2025-12-31' },
  ])('the day before $date is $before', ({ date, before }) => {
    expect(previousDate(date)).toBe(before);
  });
});

describe('streaks', () => {
  const last = (checkin_date: string, consecutive_days: number) => ({ checkin_date, consecutive_days });

  it.each([
    { case: 'a first check-in starts at 1', today: '2026-03-02', latest: undefined, streak: 1 },
    { case: 'yesterday continues the streak', today: '2026-03-02', latest: last('2026-03-01', 4), streak: 5 },
    { case: 'across a month end', today: '2026-03-01', latest: last('2026-02-28', 9), streak: 10 },
    { case: 'a missed day starts again at 1', today: '2026-03-02', latest: last('2026-02-28', 4), streak: 1 },
    { case: 'a check-in a year ago starts again at 1', today: '2026-03-02', latest: last('2025-03-01', 30), streak: 1 },
  ])('checking in on $today: $case → day $streak', ({ today, latest, streak }) => {
    expect(streakOn(today, latest)).toBe(streak);
  });

  it.each([
    { case: 'never checked in', latest: undefined, shown: 0 },
    { case: 'checked in today', latest: last('2026-03-02', 3), shown: 3 },
    { case: 'checked in yesterday (still alive today)', latest: last('2026-03-01', 3), shown: 3 },
    { case: 'last checked in two days ago (broken)', latest: last('2026-02-28', 3), shown: 0 },
  ])('the streak shown on 2026-03-02: $case → $shown', ({ latest, shown }) => {
    expect(liveStreak('2026-03-02', latest)).toBe(shown);
  });
});
