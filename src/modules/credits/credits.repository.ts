import { sql, type Kysely } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { affected, type DeferredWrites } from '#core/db/statements.ts';
import * as statements from './credits.statements.ts';
import type { CallSettleRow, HoldToClose } from './credits.statements.ts';
import type { CreditAccountRow, HoldRow, HoldStatus, LedgerKind, LedgerRow } from './credits.tables.ts';
import { olderThan } from '#core/db/keyset.ts';

/** What closing a hold needs to know about it. */
export type ClosedHold = Pick<HoldRow, 'id' | 'user_id' | 'amount' | 'reference'>;

/** A settled hold, with its account's balance after every charge of the statement. */
export type ChargedHold = ClosedHold & { balance: number };

/**
 * The only SQL of the credits module (the hand-written statements of the hot path are built in
 * credits.statements.ts). Each method runs on the database, or on the transaction it is given last.
 */
/** Which ledger rows a list shows: one kind, and (keyset paging) only those before a position. */
export interface LedgerFilter {
  kind?: LedgerKind | undefined;
  before?: { at: number; id: string } | undefined;
}

export class CreditsRepository {
  constructor(
    private readonly db: Kysely<DB>,
    /** What this database can do (RETURNING, data-modifying WITH queries) and how it spells it. */
    readonly dialect: DialectCapabilities,
  ) {}

  // ---- The batched statements of the metered-call path (GroupCommit): hand-written, one per batch. ----

  /**
   * Moves those of `holds` that are open to `to` (with their own `charged`), in one statement, and
   * returns them; a hold that is not open (closed, expired, missing) is left alone and not returned.
   * Locks the holds it moves (lock order: hold → account → key).
   */
  async closeOpenHolds(
    holds: readonly HoldToClose[],
    to: 'settled' | 'released',
    now: number,
    db: Kysely<DB>,
  ): Promise<ClosedHold[]> {
    if (holds.length === 0) return [];
    if (this.dialect.returning) {
      const ids = holds.map((h) => h.id);
      return (await statements.closeOpenHolds(this.dialect, holds, to, now, ids, false).run<ClosedHold>(db)).rows;
    }
    // No RETURNING: read and lock the open ones first, then move exactly those.
    const found = (
      await statements
        .lockOpenHolds(
          this.dialect,
          holds.map((h) => h.id),
        )
        .run<ClosedHold>(db)
    ).rows;
    if (found.length === 0) return [];
    await statements
      .closeOpenHolds(
        this.dialect,
        holds,
        to,
        now,
        found.map((h) => h.id),
        true,
      )
      .run(db);
    return found;
  }

  /**
   * One statement on one account: charges `charge`, frees `free` held credits and holds `hold` more.
   * With `hold` > 0 it applies only if the credits available after the charge and the freeing cover
   * the new hold (no oversell). Returns the new balance; undefined when refused (or there is no such
   * account); null when `needBalance` is false and reading it would cost a statement (no RETURNING).
   */
  async moveAccount(
    userId: string,
    charge: number,
    free: number,
    hold: number,
    now: number,
    db: Kysely<DB>,
    needBalance = true,
  ): Promise<number | null | undefined> {
    const update = statements.moveAccount(this.dialect, userId, charge, free, hold, now);
    if (this.dialect.returning) {
      const rows = (await update.run<{ balance: number }>(db)).rows;
      return rows[0] === undefined ? undefined : Number(rows[0].balance);
    }
    if (affected(await update.run(db)) !== 1) return undefined;
    if (!needBalance) return null;
    return Number((await statements.balanceOf(this.dialect, userId).run<{ balance: number }>(db)).rows[0]!.balance);
  }

  /**
   * Appends ledger rows, in one statement (deferred to `writes` when given, for the caller to run
   * before it commits). Throws the driver's unique violation on a used idempotency key.
   */
  async insertLedgerRows(rows: readonly LedgerRow[], db: Kysely<DB>, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const insert = statements.insertLedgerRows(this.dialect, rows);
    if (writes) writes.defer(insert);
    else await insert.run(db);
  }

  /** Inserts hold rows, in one statement (deferred to `writes` when given). */
  async insertHolds(rows: readonly HoldRow[], db: Kysely<DB>, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const insert = statements.insertHolds(this.dialect, rows);
    if (writes) writes.defer(insert);
    else await insert.run(db);
  }

  /**
   * (Data-modifying WITH queries: `dialect.writingCtes`.) `closeOpenHolds(…, 'settled')` and the
   * accounts' charge in one statement: closes the open ones of `holds`, charges each account the sum
   * of its charges and frees the sum of its holds (locks: holds, then accounts). Returns the holds it
   * closed with their account's balance after.
   */
  async closeAndCharge(
    holds: ReadonlyArray<{ id: string; charged: number }>,
    now: number,
    db: Kysely<DB>,
  ): Promise<ChargedHold[]> {
    if (holds.length === 0) return [];
    const rows = (
      await statements.closeAndCharge(this.dialect, holds, now).run<ChargedHold & { balance: number | null }>(db)
    ).rows;
    // A hold always has its account (it was taken from it); if not, fail the batch rather than close a hold uncharged.
    if (rows.some((r) => r.balance === null)) throw new Error('a settled hold has no credit account');
    return rows;
  }

  /**
   * (Data-modifying WITH queries.) Whole settles of metered calls in ONE statement, each with its
   * usage record (see credits.statements.ts `settleCalls`): a hold that was not open is left alone,
   * and nothing of its settle, record included, is written. Returns the holds it closed. Locks: holds,
   * then accounts. Alone (autocommitted), PostgreSQL may commit it even when the connection broke
   * while it ran: a caller that saw an error must settle again, and finds the hold settled (settling
   * is idempotent; a record already written is left as it is).
   */
  async settleCalls(settles: readonly CallSettleRow[], now: number, db: Kysely<DB>): Promise<ClosedHold[]> {
    return (await statements.settleCalls(this.dialect, settles, now).run<ClosedHold>(db)).rows;
  }

  /**
   * (Data-modifying WITH queries.) Takes new holds in ONE statement, atomic by itself: per account, one
   * conditional update for the sum of its holds (no oversell), and the hold rows of the accounts it
   * updated. Returns the users whose holds were taken; the others' were not (nothing written for them).
   */
  async holdAll(rows: readonly HoldRow[], now: number, db: Kysely<DB>): Promise<Set<string>> {
    return new Set(
      (await statements.holdAll(this.dialect, rows, now).run<{ user_id: string }>(db)).rows.map((r) => r.user_id),
    );
  }

  // ---- The rest: built with Kysely. ----

  async createAccount(userId: string, now: number, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('credit_accounts').values({ user_id: userId, balance: 0, held: 0, updated_at: now }).execute();
  }

  findAccount(userId: string, db: Kysely<DB> = this.db): Promise<CreditAccountRow | undefined> {
    return db.selectFrom('credit_accounts').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /** Adds `delta` to the balance. With `floor`, only if the available credits stay at or above it. */
  async addToBalance(
    userId: string,
    delta: number,
    now: number,
    floor?: number,
    db: Kysely<DB> = this.db,
  ): Promise<boolean> {
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
  async chargeHeldThenBalance(
    userId: string,
    held: number,
    charge: number,
    now: number,
    db: Kysely<DB> = this.db,
  ): Promise<number> {
    const query = db
      .updateTable('credit_accounts')
      .set({ balance: sql`balance - ${charge}`, held: sql`held - ${held}`, updated_at: now })
      .where('user_id', '=', userId);
    if (this.dialect.returning) return (await query.returning('balance').executeTakeFirstOrThrow()).balance;
    await query.execute();
    return this.balanceOf(userId, db);
  }

  async balanceOf(userId: string, db: Kysely<DB> = this.db): Promise<number> {
    const row = await db
      .selectFrom('credit_accounts')
      .select('balance')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return row.balance;
  }

  /** Throws the driver's unique violation when the idempotency key was used before. */
  async insertLedger(row: LedgerRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('credit_ledger').values(row).execute();
  }

  findLedgerByKey(idempotencyKey: string, db: Kysely<DB> = this.db): Promise<LedgerRow | undefined> {
    return db.selectFrom('credit_ledger').selectAll().where('idempotency_key', '=', idempotencyKey).executeTakeFirst();
  }

  async listLedger(
    userId: string,
    offset: number,
    limit: number,
    db: Kysely<DB> = this.db,
    filter: LedgerFilter = {},
  ): Promise<{ rows: LedgerRow[]; total: number }> {
    let rows = db.selectFrom('credit_ledger').selectAll().where('user_id', '=', userId);
    let count = db
      .selectFrom('credit_ledger')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId);
    if (filter.kind) {
      rows = rows.where('kind', '=', filter.kind);
      count = count.where('kind', '=', filter.kind);
    }
    const before = filter.before;
    // Keyset paging (newest first): the rows ordered after the cursor's.
    if (before) rows = rows.where(olderThan(before));
    const [page, counted] = await Promise.all([
      rows.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      count.executeTakeFirstOrThrow(),
    ]);
    return { rows: page, total: Number(counted.n) };
  }

  /** Every ledger row's kind, with what rows of that kind added (positive amounts) and took (negative, as a positive number). */
  async totalsByKind(): Promise<Array<{ kind: LedgerKind; added: number; taken: number }>> {
    const rows = await this.db
      .selectFrom('credit_ledger')
      .select([
        'kind',
        sql<number>`coalesce(sum(case when amount > 0 then amount else 0 end), 0)`.as('added'),
        sql<number>`coalesce(sum(case when amount < 0 then -amount else 0 end), 0)`.as('taken'),
      ])
      .groupBy('kind')
      .execute();
    return rows.map((row) => ({ kind: row.kind, added: Number(row.added), taken: Number(row.taken) }));
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
    let query = db
      .updateTable('credit_holds')
      .set({ status: to, charged, closed_at: now })
      .where('id', '=', id)
      .where('status', '=', from);
    // Expiring: only if still past its deadline (a renewal may have moved it since the sweep read it).
    if (to === 'expired') query = query.where('expires_at', '<=', now);
    if (this.dialect.returning) return query.returningAll().executeTakeFirst();
    const moved = Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
    return moved ? this.findHold(id, db) : undefined;
  }

  /** Moves the deadline of the holds `ids` that are still open to `expiresAt`. */
  async extendHolds(ids: readonly string[], expiresAt: number, db: Kysely<DB> = this.db): Promise<void> {
    if (ids.length === 0) return;
    await db
      .updateTable('credit_holds')
      .set({ expires_at: expiresAt })
      .where('id', 'in', ids)
      .where('status', '=', 'open')
      .execute();
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
    let query = db
      .selectFrom('credit_holds')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'open');
    if (userId) query = query.where('user_id', '=', userId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }
}
