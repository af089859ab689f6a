import type { CheckinRow } from './checkin.tables.ts';

/** Seed 000's check-in rewards, configurable: base + step per consecutive day (capped if set) + milestones. */
export interface CheckinRules {
  base: number;
  streakStep: number;
  /** The most the streak part may add; 0 = no cap (seed 000: "+5 for each consecutive day"). */
  streakCap: number;
  /** Consecutive day → extra credits on that day. */
  milestones: ReadonlyMap<number, number>;
}

/**
 * The most one check-in grants, whatever the streak and the settings: the largest single grant
 * anywhere (an admin adjustment, a redeem code), so an endless streak or a huge setting stays a
 * whole number far inside the credits columns and a balance far below 2^53.
 */
export const MAX_CHECKIN_REWARD = 1_000_000_000;

export function rewardFor(consecutiveDays: number, rules: CheckinRules): number {
  const streakPart = rules.streakStep * (consecutiveDays - 1);
  const streakBonus = rules.streakCap > 0 ? Math.min(streakPart, rules.streakCap) : streakPart;
  return Math.min(rules.base + streakBonus + (rules.milestones.get(consecutiveDays) ?? 0), MAX_CHECKIN_REWARD);
}

/** `7:50,15:100,30:200` → Map; throws on anything else. */
export function parseMilestones(text: string): Map<number, number> {
  const milestones = new Map<number, number>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^(\d+):(\d+)$/.exec(part);
    if (!match) throw new Error(`bad milestone "${part}", expected day:credits`);
    milestones.set(Number(match[1]), Number(match[2]));
  }
  return milestones;
}

/** The calendar day of `epochMs` in `timeZone`, as `YYYY-MM-DD`. */
export function localDate(epochMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    epochMs,
  );
}

/** The day before a `YYYY-MM-DD` date. */
export function previousDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** A user's latest check-in, as the streak rules read it. */
export type LastCheckin = Pick<CheckinRow, 'checkin_date' | 'consecutive_days'>;

/** The streak a check-in on `today` makes: one more than yesterday's, else a new streak of 1. */
export function streakOn(today: string, last: LastCheckin | undefined): number {
  return last?.checkin_date === previousDate(today) ? last.consecutive_days + 1 : 1;
}

/** The streak shown on `today`: alive while the latest check-in was today or yesterday, else 0. */
export function liveStreak(today: string, last: LastCheckin | undefined): number {
  const alive = last !== undefined && (last.checkin_date === today || last.checkin_date === previousDate(today));
  return alive ? last.consecutive_days : 0;
}
