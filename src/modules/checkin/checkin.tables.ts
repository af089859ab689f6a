import type { Selectable } from 'kysely';

export interface CheckinsTable {
  id: string;
  user_id: string;
  /** The calendar day in CHECKIN_TZ, `YYYY-MM-DD`; unique per user. */
  checkin_date: string;
  credit_earned: number;
  consecutive_days: number;
  created_at: number;
}

export interface CheckinTables {
  checkins: CheckinsTable;
}

export type CheckinRow = Selectable<CheckinsTable>;
