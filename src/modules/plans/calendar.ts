import { localDate } from '#modules/checkin/checkin.rules.ts';
import { zoneOffsetMs } from '#modules/usage/usage.service.ts';
import type { AllowancePeriod } from './plans.model.ts';

const DAY = 86_400_000;

/** One calendar window of an allowance: the local date it starts on, and when (epoch ms) it ends. */
export interface CalendarWindow {
  /** `YYYY-MM-DD`: the local day, the Monday of the ISO week, or the 1st of the month. */
  start: string;
  endsAt: number;
}

/** The epoch ms of local midnight starting `date` (`YYYY-MM-DD`) in `timeZone` (DST taken at that instant). */
export function localMidnight(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const asUtc = Date.UTC(y, m - 1, d);
  const guess = asUtc - zoneOffsetMs(timeZone, asUtc);
  // The offset at the guess itself (a DST change near midnight moves it).
  return asUtc - zoneOffsetMs(timeZone, guess);
}

function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d) + days * DAY).toISOString().slice(0, 10);
}

/**
 * The window of `period` that holds `now` in `timeZone`'s calendar (CHECKIN_TZ): not rolling, so every
 * instance agrees on it from the clock alone, and it rolls over at local midnight.
 */
export function windowOf(period: AllowancePeriod, now: number, timeZone: string): CalendarWindow {
  const today = localDate(now, timeZone);
  let start: string;
  let next: string;
  if (period === 'day') {
    start = today;
    next = addDays(today, 1);
  } else if (period === 'week') {
    const [y, m, d] = today.split('-').map(Number) as [number, number, number];
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday 0
    start = addDays(today, -weekday);
    next = addDays(start, 7);
  } else {
    start = `${today.slice(0, 7)}-01`;
    const [y, m] = today.split('-').map(Number) as [number, number];
    next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  }
  return { start, endsAt: localMidnight(next, timeZone) };
}

/**
 * The current window of each period, kept until the clock leaves it: working a window out formats
 * dates in the time zone (hundreds of µs), and every paid call of a plan's user needs its windows.
 */
export class CalendarWindows {
  private readonly current = new Map<AllowancePeriod, CalendarWindow & { startsAt: number }>();

  constructor(readonly timeZone: string) {}

  of(period: AllowancePeriod, now: number): CalendarWindow {
    const known = this.current.get(period);
    if (known && now >= known.startsAt && now < known.endsAt) return known;
    const window = windowOf(period, now, this.timeZone);
    this.current.set(period, { ...window, startsAt: localMidnight(window.start, this.timeZone) });
    return window;
  }
}
