import { sql, type Kysely } from 'kysely';
import type { DialectName } from '#core/db/create-db.ts';
import type { DB } from '#core/db/schema.ts';
import { affected, dialectOfDb, Statement, type DeferredWrites } from '#core/db/statements.ts';
import type { CreditAccountRow, HoldRow, HoldStatus, LedgerRow } from './credits.tables.ts';

/** What closing a hold needs to know about it. */
export type ClosedHold = Pick<HoldRow, 'id' | 'user_id' | 'amount' | 'reference'>;

/** A settled hold, with its account's balance after every charge of the statement. */
export type ChargedHold = ClosedHold & { balance: number };

const LEDGER_COLUMNS = ['id', 'user_id', 'amount', 'balance_after', 'kind', 'reason', 'reference', 'idempotency_key', 'created_at'] as const;
const HOLD_COLUMNS = ['id', 'user_id', 'amount', 'status', 'reference', 'idempotency_key', 'created_at', 'expires_at', 'closed_at', 'charged'] as const;

/**
 * (PostgreSQL.) The CTEs that charge the accounts of the holds in the CTE "closed" (`user_id`, `charge`,
 * `amount`): "t" locks each account once, in id order, with its sums, then "moved" charges it; the
 * caller adds `now` and ` from "t" where … returning …`. Every statement that moves several accounts
 * locks them in id order, so a hold statement and a settle statement running at the same time (on
 * one instance or several) wait for each other's rows but never deadlock.
 */
const CHARGE_CLOSED_ACCOUNTS =
  ', "t" as materialized (select "a"."user_id", "g"."charge", "g"."free" from "credit_accounts" as "a"' +
  ' join (select "user_id", sum("charge") as "charge", sum("amount") as "free" from "closed" group by "user_id") as "g" on "g"."user_id" = "a"."user_id"' +
  ' order by "a"."user_id" for update of "a")' +
  ', "moved" as (update "credit_accounts" as "a" set "balance" = "a"."balance" - "t"."charge", "held" = "a"."held" - "t"."free", "updated_at" = ';

/** The only SQL of the credits module. Each method runs on the database, or on the transaction it is given last. */
export class CreditsRepository {
  private readonly dialect: DialectName;

  constructor(
    private readonly db: Kysely<DB>,
    /** The dialect can return rows from an UPDATE (PostgreSQL, SQLite; not MySQL): one round trip less. */
    private readonly returning: boolean,
  ) {
    this.dialect = dialectOfDb(db);
  }

  /** A hand-written statement; `shape` names everything its text depends on (see Statement). */
  private statement(shape?: string): Statement {
    return new Statement(this.dialect, shape);
  }

  // ---- The batched statements of the metered-call path (GroupCommit): hand-written, one per batch. ----

  /**
   * Moves those of `holds` that are open to `to` (with their own `charged`), in one statement, and
   * returns them; a hold that is not open (closed, expired, missing) is left alone and not returned.
   * Locks the holds it moves (lock order: hold → account → key).
   */
  async closeOpenHolds(
    holds: ReadonlyArray<{ id: string; charged: number | null }>,
    to: 'settled' | 'released',
    now: number,
    db: Kysely<DB>,
  ): Promise<ClosedHold[]> {
    if (holds.length === 0) return [];
    const ids = holds.map((h) => h.id);
    let targets = ids;
    let found: ClosedHold[] | undefined;
    if (!this.returning) {
      // MySQL: read and lock the open ones first, then move exactly those.
      const select = this.statement(`lockOpenHolds:${ids.length}`).sql('select "id", "user_id", "amount", "reference" from "credit_holds" where "id" in ').tuple(ids);
      found = (await select.sql(` and "status" = 'open' for update`).run<ClosedHold>(db)).rows;
      if (found.length === 0) return [];
      targets = found.map((h) => h.id);
    }
    const update = this.statement(`closeOpenHolds:${to}:${holds.length}:${targets.length}:${found ? 'locked' : 'returning'}`);
    update.sql('update "credit_holds" set "status" = ').param(to).sql(', "charged" = ');
    if (to === 'released') update.sql('null');
    else if (holds.length === 1) update.param(holds[0]!.charged);
    else {
      update.sql('case "id"');
      for (const hold of holds) update.sql(' when ').param(hold.id).sql(' then ').param(hold.charged);
      update.sql(' else "charged" end');
    }
    update.sql(', "closed_at" = ').param(now).sql(' where "id" in ').tuple(targets).sql(` and "status" = 'open'`);
    if (found) {
      await update.run(db);
      return found;
    }
    return (await update.sql(' returning "id", "user_id", "amount", "reference"').run<ClosedHold>(db)).rows;
  }

  /**
   * One statement on one account: charges `charge`, frees `free` held credits and holds `hold` more.
   * With `hold` > 0 it applies only if the credits available after the charge and the freeing cover
   * the new hold (no oversell). Returns the new balance; undefined when refused (or there is no such
   * account); null when `needBalance` is false and reading it would cost a statement (MySQL, no RETURNING).
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
    const shape = `moveAccount:${charge !== 0}:${free !== 0}:${hold !== 0}:${hold > 0}:${this.returning}`;
    const update = this.statement(shape).sql('update "credit_accounts" set ');
    if (charge !== 0) update.sql('"balance" = "balance" - ').param(charge).sql(', ');
    update.sql('"held" = "held"');
    if (free !== 0) update.sql(' - ').param(free);
    if (hold !== 0) update.sql(' + ').param(hold);
    update.sql(', "updated_at" = ').param(now).sql(' where "user_id" = ').param(userId);
    if (hold > 0) update.sql(' and "balance" - "held" - ').param(charge - free).sql(' >= ').param(hold);
    if (this.returning) {
      const rows = (await update.sql(' returning "balance"').run<{ balance: number }>(db)).rows;
      return rows[0] === undefined ? undefined : Number(rows[0].balance);
    }
    if (affected(await update.run(db)) !== 1) return undefined;
    if (!needBalance) return null;
    const read = this.statement('balanceOf').sql('select "balance" from "credit_accounts" where "user_id" = ').param(userId);
    return Number((await read.run<{ balance: number }>(db)).rows[0]!.balance);
  }

  /**
   * Appends ledger rows, in one statement (added to `writes` when given, for the caller to run before
   * it commits). Throws the driver's unique violation on a used idempotency key.
   */
  async insertLedgerRows(rows: readonly LedgerRow[], db: Kysely<DB>, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const shape = `insertLedger:${rows.length}`;
    if (writes) insertRows(writes.add(shape), 'credit_ledger', LEDGER_COLUMNS, rows);
    else await insertRows(this.statement(shape), 'credit_ledger', LEDGER_COLUMNS, rows).run(db);
  }

  /** Inserts hold rows, in one statement (added to `writes` when given). */
  async insertHolds(rows: readonly HoldRow[], db: Kysely<DB>, writes?: DeferredWrites): Promise<void> {
    if (rows.length === 0) return;
    const shape = `insertHolds:${rows.length}`;
    if (writes) insertRows(writes.add(shape), 'credit_holds', HOLD_COLUMNS, rows);
    else await insertRows(this.statement(shape), 'credit_holds', HOLD_COLUMNS, rows).run(db);
  }

  /**
   * PostgreSQL can close holds and charge their accounts in one statement (data-modifying WITH
   * queries), and take holds — the conditional update and the insert — in one statement outside any
   * transaction: each a single round trip.
   */
  get fuses(): boolean {
    return this.dialect === 'postgres';
  }

  /**
   * (PostgreSQL, `fuses`.) `closeOpenHolds(…, 'settled')` and the accounts' charge in one statement:
   * closes the open ones of `holds`, charges each account the sum of its charges and frees the sum of
   * its holds (locks: holds, then accounts). Returns the holds it closed with their account's balance after.
   */
  async closeAndCharge(holds: ReadonlyArray<{ id: string; charged: number }>, now: number, db: Kysely<DB>): Promise<ChargedHold[]> {
    if (holds.length === 0) return [];
    const statement = this.statement(`closeAndCharge:${holds.length}`).sql('with "s" ("id", "charge") as (values ');
    holds.forEach((hold, i) => statement.sql(i > 0 ? ', (' : '(').param(hold.id).sql(', ').param(hold.charged).sql('::bigint)'));
    statement
      .sql('), "closed" as (update "credit_holds" as "h" set "status" = \'settled\', "charged" = "s"."charge", "closed_at" = ')
      .param(now)
      .sql(' from "s" where "h"."id" = "s"."id" and "h"."status" = \'open\' returning "h"."id", "h"."user_id", "h"."amount", "h"."reference", "s"."charge")')
      .sql(CHARGE_CLOSED_ACCOUNTS)
      .param(now)
      .sql(' from "t" where "a"."user_id" = "t"."user_id" returning "a"."user_id", "a"."balance")')
      .sql(' select "c"."id", "c"."user_id", "c"."amount", "c"."reference", "m"."balance" from "closed" as "c" left join "moved" as "m" on "m"."user_id" = "c"."user_id"');
    const rows = (await statement.run<ChargedHold & { balance: number | null }>(db)).rows;
    // A hold always has its account (it was taken from it); if not, fail the batch rather than close a hold uncharged.
    if (rows.some((r) => r.balance === null)) throw new Error('a settled hold has no credit account');
    return rows;
  }

  /**
   * (PostgreSQL, `fuses`.) Whole settles in ONE statement: closes the open ones of `settles`' holds, charges each account the sum of its charges and frees
   * the sum of its holds, and writes a ledger row for each charge with the balance right after it (in
   * the order of `settles`), then runs `alongside` (inserts guarded by the CTE named `closed`, which
   * holds the `id` of every hold this statement closed). Returns the holds it closed; a hold that was
   * not open is left alone, and nothing of its settle is written. Locks: holds, then accounts. Alone
   * (autocommitted), PostgreSQL may commit it even when the connection broke while it ran: a caller that
   * saw an error must settle again, and finds the hold settled (settling is idempotent).
   */
  async settleAtomic(
    settles: ReadonlyArray<{ holdId: string; charge: number; ledgerId: string; kind: string; reason: string; reference: string | null }>,
    now: number,
    db: Kysely<DB>,
    alongside: (closed: string) => Statement[],
  ): Promise<ClosedHold[]> {
    const extra = alongside('closed');
    const statement = this.statement(`settleAtomic:${settles.length}:${extra.map((e) => e.shape).join('+')}`);
    statement.sql('with "s" ("id", "charge", "ord", "ledger_id", "kind", "reason", "reference") as (values ');
    settles.forEach((settle, i) => {
      statement.sql(i > 0 ? ', (' : '(').param(settle.holdId).sql(', ').param(settle.charge).sql('::bigint, ').param(i).sql('::int, ');
      statement.param(settle.ledgerId).sql(', ').param(settle.kind).sql(', ').param(settle.reason).sql(', ').param(settle.reference).sql('::text)');
    });
    statement
      .sql('), "closed" as (update "credit_holds" as "h" set "status" = \'settled\', "charged" = "s"."charge", "closed_at" = ')
      .param(now)
      .sql(' from "s" where "h"."id" = "s"."id" and "h"."status" = \'open\'')
      .sql(' returning "h"."id", "h"."user_id", "h"."amount", "h"."reference" as "hold_reference", "s"."charge", "s"."ord", "s"."ledger_id", "s"."kind", "s"."reason", "s"."reference")')
      .sql(CHARGE_CLOSED_ACCOUNTS)
      .param(now)
      .sql(' from "t" where "a"."user_id" = "t"."user_id" returning "a"."user_id", "a"."balance")')
      // Each charge's ledger row: the balance after the statement plus the charges after it, in order.
      .sql(', "ledger" as (insert into "credit_ledger" ("id", "user_id", "amount", "balance_after", "kind", "reason", "reference", "idempotency_key", "created_at")')
      .sql(' select "c"."ledger_id", "c"."user_id", -"c"."charge",')
      .sql(' "m"."balance" + coalesce(sum("c"."charge") over (partition by "c"."user_id" order by "c"."ord" rows between 1 following and unbounded following), 0),')
      .sql(' "c"."kind", "c"."reason", coalesce("c"."reference", "c"."hold_reference"), \'hold:\' || "c"."id", ')
      .param(now)
      .sql(' from "closed" as "c" join "moved" as "m" on "m"."user_id" = "c"."user_id" where "c"."charge" > 0)');
    extra.forEach((insert, i) => statement.sql(`, "w${i}" as (`).append(insert).sql(')'));
    statement.sql(' select "id", "user_id", "amount", "hold_reference" as "reference" from "closed"');
    return (await statement.run<ClosedHold>(db)).rows;
  }

  /**
   * (PostgreSQL, `fuses`.) Takes new holds in ONE statement, atomic by itself: per account, one
   * conditional update for the sum of its holds (no oversell), and the hold rows of the accounts it
   * updated. Returns the users whose holds were taken; the others' were not (nothing written for them).
   */
  async holdAll(rows: readonly HoldRow[], now: number, db: Kysely<DB>): Promise<Set<string>> {
    const totals = new Map<string, number>();
    for (const row of rows) totals.set(row.user_id, (totals.get(row.user_id) ?? 0) + row.amount);
    const statement = this.statement(`holdAll:${totals.size}:${rows.length}`);
    // The accounts are locked in id order first (see CHARGE_CLOSED_ACCOUNTS), then moved.
    statement.sql('with "r" ("user_id", "total") as (values ');
    [...totals].forEach(([userId, total], i) => statement.sql(i > 0 ? ', (' : '(').param(userId).sql(', ').param(total).sql('::bigint)'));
    statement
      .sql('), "locked" as materialized (select "a"."user_id", "r"."total" from "credit_accounts" as "a" join "r" on "r"."user_id" = "a"."user_id"')
      .sql(' order by "a"."user_id" for update of "a")')
      .sql(', "moved" as (update "credit_accounts" as "a" set "held" = "a"."held" + "l"."total", "updated_at" = ')
      .param(now)
      .sql(' from "locked" as "l" where "a"."user_id" = "l"."user_id" and "a"."balance" - "a"."held" >= "l"."total" returning "a"."user_id")')
      .sql(' insert into "credit_holds" ("id", "user_id", "amount", "status", "reference", "idempotency_key", "created_at", "expires_at")')
      .sql(' select "n"."id", "n"."user_id", "n"."amount", \'open\', "n"."reference", "n"."idempotency_key", "n"."created_at", "n"."expires_at" from (values ');
    rows.forEach((row, i) => {
      statement.sql(i > 0 ? ', (' : '(').param(row.id).sql(', ').param(row.user_id).sql(', ').param(row.amount).sql('::bigint, ');
      statement.param(row.reference).sql('::text, ').param(row.idempotency_key).sql(', ').param(row.created_at).sql('::bigint, ').param(row.expires_at).sql('::bigint)');
    });
    statement.sql(') as "n" ("id", "user_id", "amount", "reference", "idempotency_key", "created_at", "expires_at")');
    statement.sql(' where "n"."user_id" in (select "user_id" from "moved") returning "user_id"');
    return new Set((await statement.run<{ user_id: string }>(db)).rows.map((r) => r.user_id));
  }

  // ---- The rest: built with Kysely. ----

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
    let query = db.updateTable('credit_holds').set({ status: to, charged, closed_at: now }).where('id', '=', id).where('status', '=', from);
    // Expiring: only if still past its deadline (a renewal may have moved it since the sweep read it).
    if (to === 'expired') query = query.where('expires_at', '<=', now);
    if (this.returning) return query.returningAll().executeTakeFirst();
    const moved = Number((await query.executeTakeFirst()).numUpdatedRows) === 1;
    return moved ? this.findHold(id, db) : undefined;
  }

  /** Moves the deadline of the holds `ids` that are still open to `expiresAt`. */
  async extendHolds(ids: readonly string[], expiresAt: number, db: Kysely<DB> = this.db): Promise<void> {
    if (ids.length === 0) return;
    await db.updateTable('credit_holds').set({ expires_at: expiresAt }).where('id', 'in', ids).where('status', '=', 'open').execute();
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

/** `insert into "table" ("a", "b") values (?, ?), (?, ?)…` for `rows`. */
export function insertRows<R, C extends keyof R & string>(statement: Statement, table: string, columns: readonly C[], rows: readonly R[]): Statement {
  statement.sql(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values `);
  rows.forEach((row, i) => {
    if (i > 0) statement.sql(', ');
    statement.tuple(columns.map((c) => row[c]));
  });
  return statement;
}
