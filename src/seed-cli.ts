import 'dotenv/config';
import { systemClock } from '#core/clock.ts';
import { ConfigError, loadConfig } from '#core/config.ts';
import { connectDatabase, type Database } from '#core/db/create-db.ts';
import { seedDatabase } from './seed.ts';

/** `npm run seed`: migrates, then adds the seed rows the database is missing (src/seed.ts). */
let database: Database;
try {
  database = await connectDatabase(loadConfig().DATABASE_URL);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
try {
  const report = await seedDatabase(database, systemClock);
  for (const [kind, added] of Object.entries(report)) console.log(`${kind}: ${added} added`);
} finally {
  await database.destroy();
}
