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
    expect((await call(t.app, 'GET', '/api/credits/balance', { token: before.accessToken })).json()).toEqual({ credits: 0, held: 0, available: 0 });

    // Concurrent first movements need no lazy account any more, and new sign-ups still get their bonus.
    const grants = await Promise.all([1, 2, 3].map((n) => t.app.services.credits.grant(before.id, n, { kind: 'recharge', reason: 'r', idempotencyKey: `m:${before.id}:${n}` })));
    expect(grants.every((g) => g.applied)).toBe(true);
    expect(await t.app.services.credits.account(before.id)).toEqual({ balance: 6, held: 0, available: 6 });
    const after = await registerUser(t);
    expect(await t.app.services.credits.account(after.id)).toEqual({ balance: 1000, held: 0, available: 1000 });
  });
});
