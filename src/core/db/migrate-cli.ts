import { loadConfig } from '#core/config.ts';
import { createDatabase } from '#core/db/create-db.ts';
import { migrateDown, migrateToLatest } from '#core/db/migrator.ts';

/** `npm run db:migrate` migrates to the latest; `npm run db:migrate -- down [steps]` undoes. */
const [direction = 'up', steps] = process.argv.slice(2);
const config = loadConfig();
const database = createDatabase(config.DATABASE_URL);
try {
  const result =
    direction === 'down'
      ? await migrateDown(database.db, steps ? Number(steps) : 1)
      : await migrateToLatest(database.db);
  for (const r of result.results ?? []) console.log(`${r.direction} ${r.migrationName}: ${r.status}`);
  if (!result.results?.length) console.log('Nothing to migrate.');
} finally {
  await database.destroy();
}
