import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';

/** Columns that change on their own (background jobs), not because of a request. */
const VOLATILE_COLUMNS = new Set(['last_used_at']);

export type Snapshot = Map<string, string>;

/** Every table of the database, each as a hash of its sorted rows (volatile columns left out). */
export async function snapshot(db: Kysely<DB>): Promise<Snapshot> {
  const tables = (await db.introspection.getTables()).map((t) => t.name).filter((name) => !name.startsWith('kysely_'));
  const result: Snapshot = new Map();
  for (const table of tables.sort()) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    const lines = rows
      .map((row) =>
        JSON.stringify(Object.fromEntries(Object.entries(row).filter(([column]) => !VOLATILE_COLUMNS.has(column)))),
      )
      .sort();
    result.set(table, createHash('sha256').update(lines.join('\n')).digest('hex'));
  }
  return result;
}

/** The tables that differ between two snapshots. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}

/**
 * A counter that moves whenever a row is written (SQLite's total_changes() on the app's own connection,
 * which is the only one): when it has not moved, no snapshot is needed to know nothing changed.
 */
export async function writeCounter(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ n: number }>`select total_changes() as n`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
