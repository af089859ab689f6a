import type { Clock } from '#core/clock.ts';
import type { Database } from '#core/db/create-db.ts';
import { migrateToLatest } from '#core/db/migrator.ts';
import { seedGalleryRows } from '#migrations/20261207_0015_gallery_favorites.ts';
import { GalleryRepository } from '#modules/gallery/gallery.repository.ts';
import { TemplatesRepository } from '#modules/templates/templates.repository.ts';
import { TemplatesService } from '#modules/templates/templates.service.ts';

/** What one seeder added: a line per kind of row, the number inserted. */
export type SeedReport = Record<string, number>;

/**
 * The seed data of a new database, put back where missing (`npm run seed`). The migrations insert it
 * when they make the tables (a new database has it without this); this adds, on any database, each
 * seed row whose id no row has, and never touches a row that is there (an admin's edits, counters):
 * run twice or from two places at once, it adds nothing twice. Seed plans are not listed: the plans
 * migration makes them and a plan is retired, never deleted.
 */
export async function seedDatabase(database: Database, clock: Clock): Promise<SeedReport> {
  await migrateToLatest(database.db);
  const templates = new TemplatesService(new TemplatesRepository(database.db, database.capabilities), clock);
  const added = await templates.seedMissing();
  const gallery = new GalleryRepository(database.db, database.capabilities);
  const images = await gallery.insertMissing(seedGalleryRows(clock.now()));
  return { 'prompt templates': added.prompts, 'parameter templates': added.params, 'gallery images': images };
}
