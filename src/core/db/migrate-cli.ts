import 'dotenv/config';
import { ConfigError, loadConfig } from '#core/config.ts';
import { connectDatabase, type Database } from '#core/db/create-db.ts';
import { migrateDown, migrateToLatest } from '#core/db/migrator.ts';

/** `npm run db:migrate` migrates to the latest; `npm run db:migrate -- down [steps]` undoes (1 by default). */
const [direction = 'up', stepsArg] = process.argv.slice(2);
const steps = stepsArg === undefined ? 1 : Number(stepsArg);
if ((direction !== 'up' && direction !== 'down') || !Number.isInteger(steps) || steps < 1) {
  console.error('Usage: npm run db:migrate [-- down [steps]]');
  process.exit(2);
}

let database: Database;
try {
  database = await connectDatabase(loadConfig().DATABASE_URL);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
try {
  const result = direction === 'down' ? await migrateDown(database.db, steps) : await migrateToLatest(database.db);
  for (const r of result.results ?? []) console.log(`${r.direction} ${r.migrationName}: ${r.status}`);
  if (!result.results?.length) console.log('Nothing to migrate.');
} finally {
  await database.destroy();
}
