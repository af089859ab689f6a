import { expect } from 'vitest';
import type { LedgerKind } from '#modules/credits/credits.tables.ts';
import { call, registerUser, type RegisteredUser, type TestApp } from '#test/helpers/test-app.ts';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const ALREADY_CHECKED_IN = '今日已签到，请明天再来';

/** Noon in Shanghai (04:00 UTC) on 1 March 2026: the first day of every walk. */
export const MARCH_1_NOON_SHANGHAI = Date.parse('2026-03-01T04:00:00Z');

/** `YYYY-MM-DD` of the UTC calendar day `offset` days after 1 March 2026. */
export function marchDay(offset: number): string {
  return new Date(Date.UTC(2026, 2, 1 + offset)).toISOString().slice(0, 10);
}

export const checkIn = (t: TestApp, user: RegisteredUser, lang?: string) =>
  call(t.app, 'POST', '/api/checkin', { token: user.accessToken, ...(lang ? { lang } : {}) });

export async function status(t: TestApp, user: RegisteredUser) {
  const res = await call(t.app, 'GET', '/api/checkin/status', { token: user.accessToken });
  expect(res.statusCode).toBe(200);
  return res.json();
}

export async function balance(t: TestApp, user: RegisteredUser): Promise<number> {
  const res = await call(t.app, 'GET', '/api/credits/balance', { token: user.accessToken });
  expect(res.statusCode).toBe(200);
  return res.json<{ credits: number }>().credits;
}

/** The user's check-in rows, oldest first. */
export function checkinRows(t: TestApp, userId: string) {
  return t.app.services.database.db
    .selectFrom('checkins')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('checkin_date')
    .execute();
}

/** The user's ledger rows of one kind, oldest first. */
export function ledgerRows(t: TestApp, userId: string, kind: LedgerKind) {
  return t.app.services.database.db
    .selectFrom('credit_ledger')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Asserts docs/money.md rule 1 for the user: the balance equals the sum of the ledger rows. */
export async function expectBalanceIsLedgerSum(t: TestApp, user: RegisteredUser): Promise<void> {
  expect(await t.app.services.credits.ledgerSum(user.id)).toBe(await balance(t, user));
}

/** Sets the clock, then signs a user up (registration happens at that instant). */
export async function userAt(t: TestApp, epochMs: number): Promise<RegisteredUser> {
  t.clock.set(epochMs);
  return registerUser(t);
}
