import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#core/clock.ts';
import type { App } from '#core/http/route-config.ts';
import { seedDatabase } from '#src/seed.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends } from '#test/helpers/test-app.ts';

const SEED_IDS = ['00000000-0000-7000-8000-000000000301', '00000000-0000-7000-8000-000000000302'];

/**
 * The seed's 2 sample gallery images: a new database has them; `npm run seed` puts back one that is
 * missing, keeps the others as they are (their likes), and adds nothing twice, even from two places at once.
 */
describe.each(backends())('gallery seed images on $label', (backend) => {
  let shared: SharedBackend;
  let a: App;
  let b: App;
  beforeAll(async () => {
    shared = await createSharedBackend(backend);
    a = await shared.start();
    b = await shared.start();
  });
  afterAll(() => shared?.close());

  const db = () => a.services.database.db;
  const seeded = async () =>
    (await db().selectFrom('gallery_images').select(['id', 'like_count']).orderBy('id').execute()).map((r) => ({
      id: r.id,
      likes: Number(r.like_count),
    }));

  it('a new database has the 2 seed images; seeding it adds none', async () => {
    expect(await seeded()).toEqual(SEED_IDS.map((id) => ({ id, likes: 0 })));
    expect((await seedDatabase(a.services.database, systemClock))['gallery images']).toBe(0);
    expect((await seedDatabase(b.services.database, systemClock))['gallery images']).toBe(0);
    expect(await seeded()).toHaveLength(2);
  });

  it('puts a deleted seed image back once, even run twice at once, and keeps the other’s likes', async () => {
    await db().updateTable('gallery_images').set({ like_count: 5 }).where('id', '=', SEED_IDS[0]!).execute();
    await db().deleteFrom('gallery_images').where('id', '=', SEED_IDS[1]!).execute();
    const reports = await Promise.all([
      seedDatabase(a.services.database, systemClock),
      seedDatabase(b.services.database, systemClock),
    ]);
    expect(reports.reduce((sum, r) => sum + (r['gallery images'] ?? 0), 0)).toBe(1);
    expect(await seeded()).toEqual([
      { id: SEED_IDS[0], likes: 5 },
      { id: SEED_IDS[1], likes: 0 },
    ]);
    expect((await seedDatabase(a.services.database, systemClock))['gallery images']).toBe(0);
  });
});
