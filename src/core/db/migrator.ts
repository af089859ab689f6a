import { Migrator, type Kysely, type MigrationResult, type MigrationResultSet } from 'kysely';
import { migrationGuard } from './dialect.ts';
import type { DB } from './schema.ts';
import { migrations } from '#migrations/index.ts';

function migratorOn(db: Kysely<DB>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
}

/** Applies every pending migration; one process at a time, all or nothing (see migrationGuard). */
export function migrateToLatest(db: Kysely<DB>): Promise<MigrationResultSet> {
  return migrationGuard(db, async (conn) => check(await migratorOn(conn).migrateToLatest()));
}

/** Undoes `steps` migrations, newest first (all by default); the results list every one undone. */
export function migrateDown(db: Kysely<DB>, steps = Number.POSITIVE_INFINITY): Promise<MigrationResultSet> {
  return migrationGuard(db, async (conn) => {
    const migrator = migratorOn(conn);
    const results: MigrationResult[] = [];
    for (let i = 0; i < steps; i++) {
      const step = check(await migrator.migrateDown());
      if (!step.results?.length) break;
      results.push(...step.results);
    }
    return { results };
  });
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = result.error instanceof Error ? result.error.message : JSON.stringify(result.error);
    throw new Error(`Migration ${failed} failed: ${reason}`, { cause: result.error });
  }
  return result;
}
