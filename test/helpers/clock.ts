import type { Clock } from '#core/clock.ts';

/** A clock that moves only when told to. Starts at the real time. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(epochMs: number): void {
    this.current = epochMs;
  }
}

export const MINUTE = 60_000;

/** Sessions that outlive the weeks a test walks the clock through (the clock also ages tokens). */
export const LONG_SESSIONS = { ACCESS_TOKEN_TTL: String(400 * 86_400), REFRESH_TOKEN_TTL: String(400 * 86_400) };
