import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#core/clock.ts';
import type { App } from '#core/http/route-config.ts';
import { seedDatabase } from '#src/seed.ts';
import { createSharedBackend, type SharedBackend } from '#test/helpers/instances.ts';
import { backends } from '#test/helpers/test-app.ts';

const run = promisify(execFile);

interface Row {
  id: string;
  title?: string;
  usage_count: number | string;
}

/**
 * `npm run seed` on every database: on a new one there is nothing to add (the migrations made the
 * seed rows); it puts back the seed templates that were deleted, leaves every row that is there as
 * it is (an admin's edit, a use count, an admin's own template), adds nothing twice even when run
 * from several places at once, and works as the npm script against the database of DATABASE_URL.
 */
describe.each(backends())('npm run seed on $label', (backend) => {
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
  const counts = async () => ({
    prompts: (await db().selectFrom('prompt_templates').select('id').execute()).length,
    params: (await db().selectFrom('param_templates').select('id').execute()).length,
  });

  it('adds nothing to a new database, which already has the 10 + 8 seed templates and the 3 plans', async () => {
    expect(await counts()).toEqual({ prompts: 10, params: 8 });
    expect((await db().selectFrom('plans').select('code').execute()).map((p) => p.code).sort()).toEqual([
      'lifetime',
      'monthly',
      'yearly',
    ]);
    expect(await seedDatabase(a.services.database, systemClock)).toEqual({
      'prompt templates': 0,
      'parameter templates': 0,
      'gallery images': 0,
    });
    expect(await counts()).toEqual({ prompts: 10, params: 8 });
  });

  it('puts back deleted seed templates and keeps edits, counts and admins’ templates, also run twice at once', async () => {
    const seedPrompts = await db().selectFrom('prompt_templates').select(['id', 'title']).orderBy('id').execute();
    const seedParams = await db().selectFrom('param_templates').select('id').orderBy('id').execute();
    const [edited, gone1, gone2] = [seedPrompts[0]!, seedPrompts[3]!, seedPrompts[6]!];
    await a.services.templates.updatePrompt(edited.id, { title: '管理员改过的标题' });
    await a.services.templates.recordUse('prompt', edited.id);
    await a.services.templates.remove('prompt', gone1.id);
    await a.services.templates.remove('prompt', gone2.id);
    await a.services.templates.remove('param', seedParams[7]!.id);
    const own = await a.services.templates.createPrompt({ title: '自建模板', prompt: '自建', category: 'mine' });
    expect(await counts()).toEqual({ prompts: 9, params: 7 });

    // Two instances (two connection pools) seed at the same moment: together they add each missing row once.
    const reports = await Promise.all([
      seedDatabase(a.services.database, systemClock),
      seedDatabase(b.services.database, systemClock),
    ]);
    expect(reports.reduce((sum, r) => sum + (r['prompt templates'] ?? 0), 0)).toBe(2);
    expect(reports.reduce((sum, r) => sum + (r['parameter templates'] ?? 0), 0)).toBe(1);
    expect(await counts()).toEqual({ prompts: 11, params: 8 });

    const rows = (await db().selectFrom('prompt_templates').select(['id', 'title', 'usage_count']).execute()) as Row[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(edited.id)).toMatchObject({ title: '管理员改过的标题' });
    expect(Number(byId.get(edited.id)!.usage_count)).toBe(1);
    expect(byId.get(gone1.id)).toMatchObject({ title: gone1.title });
    expect(byId.get(gone2.id)).toMatchObject({ title: gone2.title });
    expect(byId.has(own.id)).toBe(true);
    expect(await seedDatabase(b.services.database, systemClock)).toEqual({
      'prompt templates': 0,
      'parameter templates': 0,
      'gallery images': 0,
    });
  });

  it('runs as `npm run seed` against DATABASE_URL', { timeout: 60_000 }, async () => {
    const gone = (await db().selectFrom('param_templates').select('id').orderBy('id').execute())[2]!;
    await a.services.templates.remove('param', gone.id);
    const { stdout } = await run('npm', ['run', '--silent', 'seed'], {
      env: { ...process.env, DATABASE_URL: shared.database.url, DATA_DIR: shared.dataDir, REDIS_URL: '' },
    });
    expect(stdout).toContain('prompt templates: 0 added');
    expect(stdout).toContain('parameter templates: 1 added');
    expect(await counts()).toEqual({ prompts: 11, params: 8 });
  });
});
