import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { CreditAccountRow, HoldRow, HoldStatus, LedgerRow } from './credits.tables.ts';

/** The only SQL of the credits module. Each method runs on the database, or on the transaction it is given last. */
export class CreditsRepository {
  constructor(
    private readonly db: Kysely<DB>,
    /** The dialect can return rows from an UPDATE (PostgreSQL, SQLite; not MySQL): one round trip less. */
    private readonly returning: boolean,
  ) {}

  async createAccount(userId: string, now: number, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('credit_accounts').values({ user_id: userId, balance: 0, held: 0, updated_at: now }).execute();
  }

  findAccount(userId: string, db: Kysely<DB> = this.db): Promise<CreditAccountRow | undefined> {
    return db.selectFrom('credit_accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /** Adds `delta` to the balance. With `floor`, only if the available credits stay at or above it. */
  async addToBalance(userId: string, delta: number, now: number, floor?: number, db: Kysely<DB> = this.db): Promise<boolean> {
    let query = db
      .updateTable('credit_accounts')
      .set({ balance: sql`balance + ${delta}`, updated_at: now })
      .where('user_id', '=', userId);
    if (floor !== undefined) query = query.where(sql<boolean>`balance - held + ${delta} >= ${floor}`);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Sets `amount` aside if the available credits (balance − held) cover it. One statement: no oversell. */
  async holdCredits(userId: string, amount: number, now: number, db: Kysely<DB> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('credit_accounts')
      .set({ held: sql`held + ${amount}`, updated_at: now })
      .where('user_id', '=', userId)
      .where(sql<boolean>`balance - held >= ${amount}`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Charges `charge` and frees what the hold kept aside, in one statement. */
  async chargeHeld(userId: string, held: number, charge: number, now: number, db: Kysely<DB> = this.db): Promise<void> {
    await db
      .updateTable('credit_accounts')
      .set({ balance: sql`balance - ${charge}`, held: sql`held - ${held}`, updated_at: now })
      .where('user_id', '=', userId)
      .execute();
  }

  /** `chargeHeld`, then the new balance. */
  async chargeHeldThenBalance(userId: string, held: number, charge: number, now: number, db: Kysely<DB> = this.db): Promise<number> {
    const query = db
      .updateTable('credit_accounts')
      .set({ balance: sql`balance - ${charge}`, held: sql`held - ${held}`, updated_at: now })
      .where('user_id', '=', userId);
    if (this.returning) return (await query.returning('balance').executeTakeFirstOrThrow()).balance;
    await query.execute();
    return this.balanceOf(userId, db);
  }

  async balanceOf(userId: string, db: Kysely<DB> = this.db): Promise<number> {
    const row = await db.selectFrom('credit_accounts').select('balance').where('user_id', '=', userId).executeTakeFirstOrThrow();
    return row.balance;
  }

  /** Throws the driver's unique violation when the idempotency key was used before. */
  async insertLedger(row: LedgerRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('credit_ledger').values(row).execute();
  }

  findLedgerByKey(idempotencyKey: string, db: Kysely<DB> = this.db): Promise<LedgerRow | undefined> {
    return db.selectFrom('credit_ledger').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  }

  async listLedger(userId: string, offset: number, limit: number, db: Kysely<DB> = this.db): Promise<{ rows: LedgerRow[]; total: number }> {
    const [rows, count] = await Promise.all([
      db
        .selectFrom('credit_ledger')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(offset)
        .limit(limit)
        .execute(),
      db.selectFrom('credit_ledger').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Σ ledger rows of a user: what the balance must always equal. */
  async sumLedger(userId: string, db: Kysely<DB> = this.db): Promise<number> {
    const row = await db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), sql<number>`0`).as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  async insertHold(row: HoldRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('credit_holds').values(row).execute();
  }

  findHold(id: string, db: Kysely<DB> = this.db): Promise<HoldRow | undefined> {
    return db.selectFrom('credit_holds').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findHoldByKey(idempotencyKey: string, db: Kysely<DB> = this.db): Promise<HoldRow | undefined> {
    return db.selectFrom('credit_holds').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  }

  /** Moves a hold from status `from` to `to`; false when it was not in `from` (so each transition happens once). */
  /**
   * Closes a hold that is in `from` (a conditional update: exactly one of racing callers wins) and returns
   * it as it now is; undefined when it was not in `from`.
   */
  async takeHold(
    id: string,
    from: 'open' | 'expired',
    to: Exclude<HoldStatus, 'open'>,
    charged: number | null,
    now: number,
    db: Kysely<DB> = this.db,
  ): Promise<HoldRow | undefined> {
    const query = db.updateTable('credit_holds').set({ status: to, charged, closed_at: now }).where('id', '=', id).where('status', '=', from);
    if (this.returning) return query.returningAll().executeTakeFirst();
    const moved = Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
    return moved ? this.findHold(id, db) : undefined;
  }

  async expiredHoldIds(now: number, limit: number, db: Kysely<DB> = this.db): Promise<string[]> {
    const rows = await db
      .selectFrom('credit_holds')
      .select('id')
      .where('status', '=', 'open')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async countOpenHolds(userId?: string, db: Kysely<DB> = this.db): Promise<number> {
    let query = db.selectFrom('credit_holds').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open');
    if (userId) query = query.where('user_id', '=', userId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }
}
