import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import type { DB } from './schema.ts';
import { migrations } from '#migrations/index.ts';

export async function migrateToLatest(db: Kysely<DB>): Promise<MigrationResultSet> {
  return check(await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } }).migrateToLatest());
}

/** Undo every migration (tests and `npm run db:migrate -- down`). */
export async function migrateDown(db: Kysely<DB>, steps = Number.POSITIVE_INFINITY): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } });
  let last: MigrationResultSet = { results: [] };
  for (let i = 0; i < steps; i++) {
    last = check(await migrator.migrateDown());
    if (!last.results?.length) break;
  }
  return last;
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = result.error instanceof Error ? result.error.message : JSON.stringify(result.error);
    throw new Error(`Migration ${failed} failed: ${reason}`, { cause: result.error });
  }
  return result;
}
