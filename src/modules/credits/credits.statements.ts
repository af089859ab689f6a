import type { DialectCapabilities } from '#core/db/dialect.ts';
import { Statement } from '#core/db/statements.ts';
import { USAGE_COLUMNS, type UsageColumn, type UsageRow } from '#modules/usage/usage.tables.ts';
import type { HoldRow, LedgerRow } from './credits.tables.ts';

/**
 * The hand-written statements of CreditsRepository: the hot path's, one per batch of metered calls.
 * Each is built here from its inputs alone, without a database, so that every one can be built for
 * every dialect and checked against the texts committed under test/db/ (see statements.ts); only the
 * repository runs them. A statement's `shape` names everything its text depends on.
 */

const LEDGER_COLUMNS = [
  'id',
  'user_id',
  'amount',
  'balance_after',
  'kind',
  'reason',
  'reference',
  'idempotency_key',
  'created_at',
] as const;
const HOLD_COLUMNS = [
  'id',
  'user_id',
  'amount',
  'status',
  'reference',
  'idempotency_key',
  'created_at',
  'expires_at',
  'closed_at',
  'charged',
] as const;

/** A hold to close, with what it is charged (null: released). */
export interface HoldToClose {
  id: string;
  charged: number | null;
}

/** One settle of a metered call, as the fused settle writes it: the hold's charge, its ledger row and the call's usage record. */
export interface CallSettleRow {
  holdId: string;
  charge: number;
  ledgerId: string;
  kind: string;
  reason: string;
  reference: string | null;
  /** Written only if this statement closes the hold. */
  record: UsageRow;
}

/** (MySQL, no RETURNING.) Reads and locks those of `ids` that are open holds. */
export function lockOpenHolds(dialect: DialectCapabilities, ids: readonly string[]): Statement {
  return new Statement(dialect, `lockOpenHolds:${ids.length}`)
    .sql('select "id", "user_id", "amount", "reference" from "credit_holds" where "id" in ')
    .tuple(ids)
    .sql(` and "status" = 'open' for update`);
}

/**
 * Moves those of `targets` that are open to `to`, each with its `charged` from `holds`; returns
 * them unless `locked` (they were read and locked first: lockOpenHolds).
 */
export function closeOpenHolds(
  dialect: DialectCapabilities,
  holds: readonly HoldToClose[],
  to: 'settled' | 'released',
  now: number,
  targets: readonly string[],
  locked: boolean,
): Statement {
  const update = new Statement(
    dialect,
    `closeOpenHolds:${to}:${holds.length}:${targets.length}:${locked ? 'locked' : 'returning'}`,
  );
  update.sql('update "credit_holds" set "status" = ').param(to).sql(', "charged" = ');
  if (to === 'released') update.sql('null');
  else if (holds.length === 1) update.param(holds[0]!.charged);
  else {
    update.sql('case "id"');
    for (const hold of holds) update.sql(' when ').param(hold.id).sql(' then ').param(hold.charged);
    update.sql(' else "charged" end');
  }
  update.sql(', "closed_at" = ').param(now).sql(' where "id" in ').tuple(targets).sql(` and "status" = 'open'`);
  return locked ? update : update.sql(' returning "id", "user_id", "amount", "reference"');
}

/**
 * One account: charges `charge`, frees `free` held credits and holds `hold` more; with `hold` > 0 only
 * if the credits available after the charge and the freeing cover it. Returns the balance where the
 * dialect can (`returning`).
 */
export function moveAccount(
  dialect: DialectCapabilities,
  userId: string,
  charge: number,
  free: number,
  hold: number,
  now: number,
): Statement {
  const update = new Statement(
    dialect,
    `moveAccount:${charge !== 0}:${free !== 0}:${hold !== 0}:${hold > 0}:${dialect.returning}`,
  ).sql('update "credit_accounts" set ');
  if (charge !== 0) update.sql('"balance" = "balance" - ').param(charge).sql(', ');
  update.sql('"held" = "held"');
  if (free !== 0) update.sql(' - ').param(free);
  if (hold !== 0) update.sql(' + ').param(hold);
  update.sql(', "updated_at" = ').param(now).sql(' where "user_id" = ').param(userId);
  if (hold > 0)
    update
      .sql(' and "balance" - "held" - ')
      .param(charge - free)
      .sql(' >= ')
      .param(hold);
  return dialect.returning ? update.sql(' returning "balance"') : update;
}

/** An account's balance (after moveAccount, where the dialect cannot return it). */
export function balanceOf(dialect: DialectCapabilities, userId: string): Statement {
  return new Statement(dialect, 'balanceOf')
    .sql('select "balance" from "credit_accounts" where "user_id" = ')
    .param(userId);
}

export function insertLedgerRows(dialect: DialectCapabilities, rows: readonly LedgerRow[]): Statement {
  return insertRows(new Statement(dialect, `insertLedger:${rows.length}`), 'credit_ledger', LEDGER_COLUMNS, rows);
}

export function insertHolds(dialect: DialectCapabilities, rows: readonly HoldRow[]): Statement {
  return insertRows(new Statement(dialect, `insertHolds:${rows.length}`), 'credit_holds', HOLD_COLUMNS, rows);
}

/** `insert into "table" ("a", "b") values (?, ?), (?, ?)…` for `rows`. */
function insertRows<R, C extends keyof R & string>(
  statement: Statement,
  table: string,
  columns: readonly C[],
  rows: readonly R[],
): Statement {
  statement.sql(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values `);
  rows.forEach((row, i) => {
    if (i > 0) statement.sql(', ');
    statement.tuple(columns.map((c) => row[c]));
  });
  return statement;
}

/**
 * (Data-modifying WITH queries.) The CTEs that charge the accounts of the holds in the CTE "closed"
 * (`user_id`, `charge`, `amount`): "t" locks each account once, in id order, with its sums, then
 * "moved" charges it; the caller adds `now` and ` from "t" where … returning …`. Every statement that
 * moves several accounts locks them in id order, so a hold statement and a settle statement running
 * at the same time (on one instance or several) wait for each other's rows but never deadlock.
 */
const CHARGE_CLOSED_ACCOUNTS =
  ', "t" as materialized (select "a"."user_id", "g"."charge", "g"."free" from "credit_accounts" as "a"' +
  ' join (select "user_id", sum("charge") as "charge", sum("amount") as "free" from "closed" group by "user_id") as "g" on "g"."user_id" = "a"."user_id"' +
  ' order by "a"."user_id" for update of "a")' +
  ', "moved" as (update "credit_accounts" as "a" set "balance" = "a"."balance" - "t"."charge", "held" = "a"."held" - "t"."free", "updated_at" = ';

/**
 * (Data-modifying WITH queries.) Closes the open ones of `holds` as settled and charges each account
 * the sum of its charges, freeing the sum of its holds; returns the holds it closed with their
 * account's balance after.
 */
export function closeAndCharge(
  dialect: DialectCapabilities,
  holds: ReadonlyArray<{ id: string; charged: number }>,
  now: number,
): Statement {
  const statement = new Statement(dialect, `closeAndCharge:${holds.length}`).sql(
    'with "s" ("id", "charge") as (values ',
  );
  holds.forEach((hold, i) =>
    statement
      .sql(i > 0 ? ', (' : '(')
      .param(hold.id)
      .sql(', ')
      .param(hold.charged)
      .sql('::bigint)'),
  );
  return statement
    .sql(
      '), "closed" as (update "credit_holds" as "h" set "status" = \'settled\', "charged" = "s"."charge", "closed_at" = ',
    )
    .param(now)
    .sql(
      ' from "s" where "h"."id" = "s"."id" and "h"."status" = \'open\' returning "h"."id", "h"."user_id", "h"."amount", "h"."reference", "s"."charge")',
    )
    .sql(CHARGE_CLOSED_ACCOUNTS)
    .param(now)
    .sql(' from "t" where "a"."user_id" = "t"."user_id" returning "a"."user_id", "a"."balance")')
    .sql(
      ' select "c"."id", "c"."user_id", "c"."amount", "c"."reference", "m"."balance" from "closed" as "c" left join "moved" as "m" on "m"."user_id" = "c"."user_id"',
    );
}

/** PostgreSQL types of the usage columns that are not text (the values of a SELECT are text unless told). */
const USAGE_PG_TYPES: Partial<Record<UsageColumn, string>> = {
  stream: 'integer',
  input_tokens: 'bigint',
  output_tokens: 'bigint',
  credits: 'bigint',
  latency_ms: 'integer',
  http_status: 'integer',
  created_at: 'bigint',
  overrun: 'bigint',
};
const USAGE_COLUMN_LIST = USAGE_COLUMNS.map((c) => `"${c}"`).join(', ');

/**
 * (Data-modifying WITH queries.) Whole settles of metered calls in ONE statement, the hottest on
 * PostgreSQL: closes the open ones of the holds, charges each account the sum of its charges and frees
 * the sum of its holds, writes a ledger row for each charge with the balance right after it (in the
 * order of `settles`), and the usage record of each call whose hold it closed. Returns the holds it
 * closed (`id`, `user_id`, `amount`, `reference`).
 *
 * It lives with the credits because it is a settle — holds, accounts, ledger — that the usage record
 * rides along with: the record is guarded by the CTE of the holds this statement closed, so the two
 * must be one text, and the name of that CTE never leaves this function. It is the one statement
 * outside the usage module that writes `usage_records`, with the columns that module lists
 * (USAGE_COLUMNS) and the dialect's insert-if-new clause, as UsageRepository's own insert.
 */
export function settleCalls(dialect: DialectCapabilities, settles: readonly CallSettleRow[], now: number): Statement {
  const statement = new Statement(dialect, `settleCalls:${settles.length}`);
  statement.sql('with "s" ("id", "charge", "ord", "ledger_id", "kind", "reason", "reference") as (values ');
  settles.forEach((settle, i) => {
    statement
      .sql(i > 0 ? ', (' : '(')
      .param(settle.holdId)
      .sql(', ')
      .param(settle.charge)
      .sql('::bigint, ')
      .param(i)
      .sql('::int, ');
    statement
      .param(settle.ledgerId)
      .sql(', ')
      .param(settle.kind)
      .sql(', ')
      .param(settle.reason)
      .sql(', ')
      .param(settle.reference)
      .sql('::text)');
  });
  statement
    .sql(
      '), "closed" as (update "credit_holds" as "h" set "status" = \'settled\', "charged" = "s"."charge", "closed_at" = ',
    )
    .param(now)
    .sql(' from "s" where "h"."id" = "s"."id" and "h"."status" = \'open\'')
    .sql(
      ' returning "h"."id", "h"."user_id", "h"."amount", "h"."reference" as "hold_reference", "s"."charge", "s"."ord", "s"."ledger_id", "s"."kind", "s"."reason", "s"."reference")',
    )
    .sql(CHARGE_CLOSED_ACCOUNTS)
    .param(now)
    .sql(' from "t" where "a"."user_id" = "t"."user_id" returning "a"."user_id", "a"."balance")')
    // Each charge's ledger row: the balance after the statement plus the charges after it, in order.
    .sql(
      ', "ledger" as (insert into "credit_ledger" ("id", "user_id", "amount", "balance_after", "kind", "reason", "reference", "idempotency_key", "created_at")',
    )
    .sql(' select "c"."ledger_id", "c"."user_id", -"c"."charge",')
    .sql(
      ' "m"."balance" + coalesce(sum("c"."charge") over (partition by "c"."user_id" order by "c"."ord" rows between 1 following and unbounded following), 0),',
    )
    .sql(' "c"."kind", "c"."reason", coalesce("c"."reference", "c"."hold_reference"), \'hold:\' || "c"."id", ')
    .param(now)
    .sql(' from "closed" as "c" join "moved" as "m" on "m"."user_id" = "c"."user_id" where "c"."charge" > 0)');
  // Each call's usage record, guarded by its hold: written only if this statement closed it. (Its CTE
  // is named "w0", as the first of a chain of writes: the text the servers have prepared.)
  statement.sql(
    `, "w0" as (insert into "usage_records" (${USAGE_COLUMN_LIST}) select ${USAGE_COLUMNS.map((c) => `"v"."${c}"`).join(', ')} from (values `,
  );
  settles.forEach((settle, i) => {
    statement.sql(i > 0 ? ', (' : '(');
    for (const column of USAGE_COLUMNS) {
      statement.param(settle.record[column]);
      statement.sql(`${USAGE_PG_TYPES[column] ? `::${USAGE_PG_TYPES[column]}` : ''}, `);
    }
    statement.param(settle.holdId).sql(')');
  });
  statement
    .sql(`) as "v" (${USAGE_COLUMN_LIST}, "guard") where "v"."guard" in (select "id" from "closed")`)
    .sql(dialect.insertIfNewId)
    .sql(')');
  return statement.sql(' select "id", "user_id", "amount", "hold_reference" as "reference" from "closed"');
}

/**
 * (Data-modifying WITH queries.) New holds in ONE statement, atomic by itself: per account, one
 * conditional update for the sum of its holds (no oversell), and the hold rows of the accounts it
 * updated. Returns the `user_id` of each hold taken.
 */
export function holdAll(dialect: DialectCapabilities, rows: readonly HoldRow[], now: number): Statement {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.user_id, (totals.get(row.user_id) ?? 0) + row.amount);
  const statement = new Statement(dialect, `holdAll:${totals.size}:${rows.length}`);
  // The accounts are locked in id order first (see CHARGE_CLOSED_ACCOUNTS), then moved.
  statement.sql('with "r" ("user_id", "total") as (values ');
  [...totals].forEach(([userId, total], i) =>
    statement
      .sql(i > 0 ? ', (' : '(')
      .param(userId)
      .sql(', ')
      .param(total)
      .sql('::bigint)'),
  );
  statement
    .sql(
      '), "locked" as materialized (select "a"."user_id", "r"."total" from "credit_accounts" as "a" join "r" on "r"."user_id" = "a"."user_id"',
    )
    .sql(' order by "a"."user_id" for update of "a")')
    .sql(', "moved" as (update "credit_accounts" as "a" set "held" = "a"."held" + "l"."total", "updated_at" = ')
    .param(now)
    .sql(
      ' from "locked" as "l" where "a"."user_id" = "l"."user_id" and "a"."balance" - "a"."held" >= "l"."total" returning "a"."user_id")',
    )
    .sql(
      ' insert into "credit_holds" ("id", "user_id", "amount", "status", "reference", "idempotency_key", "created_at", "expires_at")',
    )
    .sql(
      ' select "n"."id", "n"."user_id", "n"."amount", \'open\', "n"."reference", "n"."idempotency_key", "n"."created_at", "n"."expires_at" from (values ',
    );
  rows.forEach((row, i) => {
    statement
      .sql(i > 0 ? ', (' : '(')
      .param(row.id)
      .sql(', ')
      .param(row.user_id)
      .sql(', ')
      .param(row.amount)
      .sql('::bigint, ');
    statement
      .param(row.reference)
      .sql('::text, ')
      .param(row.idempotency_key)
      .sql(', ')
      .param(row.created_at)
      .sql('::bigint, ')
      .param(row.expires_at)
      .sql('::bigint)');
  });
  statement.sql(') as "n" ("id", "user_id", "amount", "reference", "idempotency_key", "created_at", "expires_at")');
  return statement.sql(' where "n"."user_id" in (select "user_id" from "moved") returning "user_id"');
}
