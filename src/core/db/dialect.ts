import { MysqlAdapter, SqliteAdapter, sql, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from './create-db.ts';

/**
 * The only place that knows how the three databases differ. Everything else writes one query.
 */

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
 */
export async function migrationGuard<DB, T>(db: Kysely<DB>, work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return work(db);
  return db.connection().execute(async (connection) => {
    await beginImmediate(connection);
    try {
      const result = await work(connection);
      await sql`commit`.execute(connection);
      return result;
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
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
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      try {
        await sql`begin immediate`.execute(connection);
        return;
      } catch (error) {
        if ((error as DriverError).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
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

/**
 * The day number (days since 1970-01-01 in a zone `offsetMs` from UTC) of an epoch-milliseconds
 * column, as integer arithmetic each dialect spells its own way.
 */
export function dayNumber(dialect: DialectName, column: string, offsetMs: number): RawBuilder<number> {
  const col = sql.ref(column);
  const offset = sql.lit(Math.trunc(offsetMs));
  return dialect === 'mysql' ? sql<number>`((${col} + ${offset}) DIV 86400000)` : sql<number>`((${col} + ${offset}) / 86400000)`;
}

/** PostgreSQL and SQLite can return rows from INSERT/UPDATE/DELETE; MySQL cannot. */
export function supportsReturning(dialect: DialectName): boolean {
  return dialect !== 'mysql';
}

/** A column for long text (answers can run past MySQL's 64 KB `text`): `mediumtext` there, `text` elsewhere. */
export function longText<DB>(db: Kysely<DB>): 'text' | Expression<unknown> {
  return db.getExecutor().adapter instanceof MysqlAdapter ? sql`mediumtext` : 'text';
}
