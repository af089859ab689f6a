import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { CheckinRow } from './checkin.tables.ts';

export class CheckinRepository {
  constructor(private readonly db: Kysely<DB>) {}

  latest(userId: string): Promise<CheckinRow | undefined> {
    return this.db
      .selectFrom('checkins')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('checkin_date', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Throws the driver's unique violation on a second check-in for the same day. */
  async insert(row: CheckinRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('checkins').values(row).execute();
  }

  async list(userId: string, offset: number, limit: number): Promise<{ rows: CheckinRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.db
        .selectFrom('checkins')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('checkin_date', 'desc')
        .offset(offset)
        .limit(limit)
        .execute(),
      this.db
        .selectFrom('checkins')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  async count(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('checkins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
