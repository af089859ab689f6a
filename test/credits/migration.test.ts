import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateToLatest } from '#core/db/migrator.ts';
import { migrations } from '#migrations/index.ts';
import { backends, call, createTestApp, registerUser, type TestApp } from '#test/helpers/test-app.ts';

describe.each(backends())('the credits migration on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  it('gives every user who signed up before credits existed an empty account, and no bonus', async () => {
    const db = t.app.services.database.db;
    const before = await registerUser(t);
    const names = Object.keys(migrations);
    const afterAccounts = names.length - names.indexOf('20261122_0002_credits');
    const undone = await migrateDown(db, afterAccounts); // back to a database of accounts only
    expect(undone.results?.at(-1)?.migrationName).toBe('20261122_0002_credits');
    expect(await db.selectFrom('users').select('id').where('id', '=', before.id).executeTakeFirst()).toBeDefined();

    await migrateToLatest(db);
    const accounts = await db.selectFrom('credit_accounts').selectAll().execute();
    expect(accounts).toEqual([expect.objectContaining({ user_id: before.id, balance: 0, held: 0 })]);
    expect(await db.selectFrom('credit_ledger').selectAll().execute()).toEqual([]);
    expect((await call(t.app, 'GET', '/api/credits/balance', { token: before.accessToken })).json()).toEqual({
      credits: 0,
      held: 0,
      available: 0,
    });

    // Concurrent first movements need no lazy account any more, and new sign-ups still get their bonus.
    const grants = await Promise.all(
      [1, 2, 3].map((n) =>
        t.app.services.credits.grant(before.id, n, {
          kind: 'recharge',
          reason: 'r',
          idempotencyKey: `m:${before.id}:${n}`,
        }),
      ),
    );
    expect(grants.every((g) => g.applied)).toBe(true);
    expect(await t.app.services.credits.account(before.id)).toEqual({ balance: 6, held: 0, available: 6 });
    const after = await registerUser(t);
    expect(await t.app.services.credits.account(after.id)).toEqual({ balance: 1000, held: 0, available: 1000 });
  });
});

describe.each(backends())('the metering limits migration on $label', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(backend);
  });
  afterAll(() => t.close());

  const columns = async (table: string) => {
    const tables = await t.app.services.database.db.introspection.getTables();
    return tables.find((x) => x.name === table)!.columns.map((c) => c.name);
  };

  /** A usage record as the code before the migration wrote it: every column but the overrun. */
  const recordUsage = (id: string, userId: string) =>
    sql`insert into usage_records (id, request_id, user_id, key_id, channel_id, endpoint, model, stream, input_tokens, output_tokens, credits, latency_ms, status, http_status, end_reason, usage_source, error, created_at)
      values (${id}, ${id}, ${userId}, null, null, 'chat.completions', 'gpt-4o', 0, 10, 20, 7, 5, 'ok', 200, 'stop', 'upstream', null, 1)`.execute(
      t.app.services.database.db,
    );

  it('adds the most output tokens of a price and the overrun of a usage record to tables that have rows, and takes them away again', async () => {
    const db = t.app.services.database.db;
    const user = await registerUser(t);
    const names = Object.keys(migrations);
    const sinceLimits = names.length - names.indexOf('20261202_0006_metering_limits');
    const undone = await migrateDown(db, sinceLimits);
    expect(undone.results?.at(-1)?.migrationName).toBe('20261202_0006_metering_limits');
    expect(await columns('model_prices')).not.toContain('max_output_tokens');
    expect(await columns('usage_records')).not.toContain('overrun');

    // Rows written before the migration, as the code of that time wrote them.
    await sql`insert into model_prices (model, input_micro, output_micro, per_request_micro, per_image_micro, updated_at) values ('gpt-4o', 1000000, 2000000, 0, 0, 1), ('house-model', 3000000, 0, 0, 0, 1)`.execute(
      db,
    );
    await recordUsage('u-before', user.id);

    await migrateToLatest(db);
    expect(await columns('model_prices')).toContain('max_output_tokens');
    expect(await columns('usage_records')).toContain('overrun');
    const overruns = async () =>
      (
        await sql<{ id: string; overrun: number | string }>`select id, overrun from usage_records order by id`.execute(
          db,
        )
      ).rows.map((r) => [r.id, Number(r.overrun)]);
    expect(await overruns(), 'a call recorded before had no overrun').toEqual([['u-before', 0]]);
    await recordUsage('u-after', user.id);
    expect(await overruns(), 'an insert that names no overrun records none').toEqual([
      ['u-after', 0],
      ['u-before', 0],
    ]);

    // A price set before has no maximum of its own: it takes its model's shipped one, or none.
    const pricing = t.app.services.pricing;
    await pricing.load();
    expect(pricing.priceOf('gpt-4o')).toMatchObject({ input: 1, output: 2, maxOutputTokens: 16384 });
    expect(pricing.priceOf('house-model')).toMatchObject({ input: 3, maxOutputTokens: null });
    await pricing.set('house-model', { input: 3, output: 0, perRequest: 0, perImage: 0, maxOutputTokens: 4000 });
    expect(pricing.priceOf('house-model')?.maxOutputTokens).toBe(4000);

    // Down keeps every row, without the new columns; up again brings them back empty.
    await migrateDown(db, sinceLimits);
    expect(await columns('model_prices')).not.toContain('max_output_tokens');
    expect(await columns('usage_records')).not.toContain('overrun');
    expect(
      (await db.selectFrom('model_prices').select('model').orderBy('model').execute()).map((r) => r.model),
    ).toEqual(['gpt-4o', 'house-model']);
    expect(await db.selectFrom('usage_records').select('id').execute()).toHaveLength(2);
    await migrateToLatest(db);
    await pricing.load();
    expect(pricing.priceOf('house-model')?.maxOutputTokens).toBeNull();
  });
});
