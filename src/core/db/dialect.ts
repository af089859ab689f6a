import { MysqlAdapter, PostgresAdapter, sql, type Expression, type Kysely, type RawBuilder } from 'kysely';
import { retry } from '#core/retry.ts';

/**
 * The only place that knows how the three databases differ. Each database's differences are one
 * DialectCapabilities object below, made once per Database (create-db.ts) and handed to whoever
 * writes SQL; everything else writes one query and asks that object where the dialects part.
 */

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/** What a database can do and how it spells it. */
export interface DialectCapabilities {
  readonly name: DialectName;
  /** INSERT/UPDATE/DELETE can return rows (PostgreSQL, SQLite; not MySQL): a changed row costs no second statement. */
  readonly returning: boolean;
  /**
   * Data-modifying WITH queries (PostgreSQL): several writes in ONE statement, atomic by itself. A
   * settle then closes its holds, charges their accounts and writes its ledger rows and usage records
   * in one round trip; new holds are taken in one outside any transaction; and the inserts a batch
   * defers go as one chain.
   */
  readonly writingCtes: boolean;
  /**
   * New holds get a group commit of their own (PostgreSQL): a batch of holds is then sent while the
   * previous batch of settles is still on its way, instead of after it. On SQLite a transaction runs
   * within one turn anyway, and one commit for both is cheaper; on MySQL two transactions on one
   * account row were no faster than one (docs/decisions.md, holds and settles in two lanes).
   */
  readonly holdsCommitApart: boolean;
  /**
   * The hot statements are kept prepared by name on each connection (PostgreSQL: parsed and planned
   * once per connection instead of on every call); the other drivers cache statements by text already.
   */
  readonly preparesByName: boolean;
  /**
   * Kysely's migrator takes no lock and no transaction here (SQLite), so the migrations need ours
   * (see migrationGuard); it does both itself on PostgreSQL and MySQL.
   */
  readonly migrationsNeedGuard: boolean;
  /** The placeholder of a statement's `n`th parameter (from 1). */
  readonly placeholder: (n: number) => string;
  /** `text`'s placeholders as they read after `offset` earlier parameters (appending one statement to another). */
  readonly shiftPlaceholders: (text: string, offset: number) => string;
  /** Hand-written SQL whose identifiers are written `"like_this"`, quoted as this database quotes them. */
  readonly quoteIdentifiers: (text: string) => string;
  /** The end of an INSERT that leaves a row whose `id` is taken as it is, instead of failing. */
  readonly insertIfNewId: string;
  /**
   * The day number (days since 1970-01-01 in a zone `offsetMs` from UTC) of an epoch-milliseconds
   * column, as integer arithmetic.
   */
  readonly dayNumber: (column: string, offsetMs: number) => RawBuilder<number>;
  /** A column type for long text (answers can run past MySQL's 64 KB `text`). */
  readonly longText: 'text' | Expression<unknown>;
}

const same = (text: string): string => text;
const question = (): string => '?';
const slashDay = (column: string, offsetMs: number) =>
  sql<number>`((${sql.ref(column)} + ${sql.lit(Math.trunc(offsetMs))}) / 86400000)`;

const CAPABILITIES: Readonly<Record<DialectName, DialectCapabilities>> = {
  sqlite: Object.freeze({
    name: 'sqlite',
    returning: true,
    writingCtes: false,
    holdsCommitApart: false,
    preparesByName: false,
    migrationsNeedGuard: true,
    placeholder: question,
    shiftPlaceholders: same,
    quoteIdentifiers: same,
    insertIfNewId: ' on conflict ("id") do nothing',
    dayNumber: slashDay,
    longText: 'text',
  }),
  postgres: Object.freeze({
    name: 'postgres',
    returning: true,
    writingCtes: true,
    holdsCommitApart: true,
    preparesByName: true,
    migrationsNeedGuard: false,
    placeholder: (n: number) => `$${n}`,
    shiftPlaceholders: (text: string, offset: number) =>
      text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`),
    quoteIdentifiers: same,
    insertIfNewId: ' on conflict ("id") do nothing',
    dayNumber: slashDay,
    longText: 'text',
  }),
  mysql: Object.freeze({
    name: 'mysql',
    returning: false,
    writingCtes: false,
    holdsCommitApart: false,
    preparesByName: false,
    migrationsNeedGuard: false,
    placeholder: question,
    shiftPlaceholders: same,
    quoteIdentifiers: (text: string) => text.replaceAll('"', '`'),
    insertIfNewId: ' on duplicate key update "id" = "id"',
    dayNumber: (column: string, offsetMs: number) =>
      sql<number>`((${sql.ref(column)} + ${sql.lit(Math.trunc(offsetMs))}) DIV 86400000)`,
    longText: sql`mediumtext`,
  }),
};

/** The capabilities of the database named `name`. */
export function dialectCapabilities(name: DialectName): DialectCapabilities {
  return CAPABILITIES[name];
}

/** The capabilities of the database a Kysely instance speaks to, from its adapter (for code handed only a Kysely: migrations). */
export function capabilitiesOf<DB>(db: Kysely<DB>): DialectCapabilities {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return CAPABILITIES.postgres;
  if (adapter instanceof MysqlAdapter) return CAPABILITIES.mysql;
  return CAPABILITIES.sqlite;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
}

/** True when the error is a unique/primary-key violation on any of the three dialects. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as DriverError;
  return (
    code === '23505' || // PostgreSQL unique_violation
    code === 'ER_DUP_ENTRY' ||
    errno === 1062 || // MySQL / MariaDB
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * Runs the migrator's work so that only one process migrates at a time and a failure leaves
 * nothing half-done. Kysely does this itself on PostgreSQL (advisory lock, transactional DDL) and
 * MySQL (GET_LOCK), but on SQLite it takes no lock and no transaction, assuming one process: two
 * instances starting on one file then both create the tables. There the work runs in one
 * BEGIN IMMEDIATE transaction; another instance waits for it and then finds the work done.
 *
 * On SQLite the work also runs with foreign keys off, as SQLite prescribes for schema changes
 * (https://www.sqlite.org/lang_altertable.html): a migration that rebuilds a table (the only way to
 * change a column's constraints there) drops the old one, and with foreign keys on that drop deletes
 * every row first, cascading to every table that references it. The pragma cannot change inside a
 * transaction, so it is set around it; `foreign_key_check` must find nothing before the commit.
 */
export async function migrationGuard<DB, T>(db: Kysely<DB>, work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (!capabilitiesOf(db).migrationsNeedGuard) return work(db);
  return db.connection().execute(async (connection) => {
    const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(connection);
    const foreignKeys = Number(rows[0]?.foreign_keys ?? 0);
    await sql`pragma foreign_keys = off`.execute(connection);
    try {
      await beginImmediate(connection);
      try {
        const result = await work(connection);
        const broken = await sql<{ table: string; parent: string }>`pragma foreign_key_check`.execute(connection);
        if (broken.rows.length > 0) {
          const where = broken.rows.map((row) => `${row.table} → ${row.parent}`).join(', ');
          throw new Error(`migrations left rows whose foreign keys point nowhere: ${where}`);
        }
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        await sql`rollback`.execute(connection);
        throw error;
      }
    } finally {
      await sql.raw(`pragma foreign_keys = ${foreignKeys ? 'on' : 'off'}`).execute(connection);
    }
  });
}

/**
 * Takes SQLite's write lock, retrying without blocking the event loop (the connection's busy
 * timeout would block it, and the holder may be in this very process) for up to `waitMs`.
 */
async function beginImmediate<DB>(connection: Kysely<DB>, waitMs = 60_000): Promise<void> {
  const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(connection);
  const busyTimeout = Number(rows[0]?.timeout ?? 0);
  await sql`pragma busy_timeout = 0`.execute(connection);
  try {
    await retry(() => sql`begin immediate`.execute(connection), {
      retryable: (error) => (error as DriverError).code === 'SQLITE_BUSY',
      pause: () => 25,
      withinMs: waitMs,
    });
  } finally {
    await sql.raw(`pragma busy_timeout = ${busyTimeout}`).execute(connection);
  }
}

/**
 * True when the database aborted a transaction that may succeed if simply run again: a deadlock or a
 * serialization failure (PostgreSQL 40001/40P01, MySQL 1213/1205), or SQLite reporting busy.
 */
export function isTransientConflict(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, errno } = error as DriverError;
  return (
    code === '40001' ||
    code === '40P01' ||
    code === 'ER_LOCK_DEADLOCK' ||
    code === 'ER_LOCK_WAIT_TIMEOUT' ||
    errno === 1213 ||
    errno === 1205 ||
    code === 'SQLITE_BUSY'
  );
}

/** A column for long text: `mediumtext` on MySQL, `text` elsewhere (see DialectCapabilities.longText). */
export function longText<DB>(db: Kysely<DB>): 'text' | Expression<unknown> {
  return capabilitiesOf(db).longText;
}

/** Drops an index of `table`: MySQL names the table (`drop index … on …`), the others must not. */
export function dropIndex<DB>(db: Kysely<DB>, name: string, table: string): Promise<void> {
  const drop = db.schema.dropIndex(name);
  return (capabilitiesOf(db).name === 'mysql' ? drop.on(table) : drop).execute();
}
