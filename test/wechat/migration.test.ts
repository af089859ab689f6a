import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateToLatest } from '#core/db/migrator.ts';
import { newId } from '#core/ids.ts';
import { migrations } from '#migrations/index.ts';
import { chatBody, newCaller, startGateway, v1, type Gateway } from '#test/helpers/gateway.ts';
import { backends, call } from '#test/helpers/test-app.ts';

const WECHAT_IDENTITY = '20261207_0009_wechat_identity';

/** The number of rows in every table of the application (not the migrator's own). */
async function rowCounts(g: Gateway): Promise<Record<string, number>> {
  const db = g.t.app.services.database.db;
  const tables = (await db.introspection.getTables()).map((table) => table.name).sort();
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    counts[table] = Number(rows[0]!.n);
  }
  return counts;
}

describe.each(backends())('the WeChat identity migration on $label', (backend) => {
  let g: Gateway;
  beforeAll(async () => {
    g = await startGateway(backend);
  });
  afterAll(() => g.close());

  it('keeps every row that references a user (sessions, ledger, check-ins, keys, usage) through down and up', async () => {
    const db = g.t.app.services.database.db;
    const caller = await newCaller(g);
    const checkin = await call(g.t.app, 'POST', '/api/checkin', { token: caller.user.accessToken });
    expect(checkin.statusCode, checkin.body).toBe(200);
    const paid = await v1(g, caller.secret, 'POST', '/v1/chat/completions', chatBody());
    expect(paid.statusCode, paid.body).toBe(200);
    const before = await rowCounts(g);
    for (const table of [
      'users',
      'sessions',
      'refresh_tokens',
      'credit_ledger',
      'checkins',
      'api_keys',
      'usage_records',
    ])
      expect(before[table], table).toBeGreaterThan(0);

    const names = Object.keys(migrations);
    const undone = await migrateDown(db, names.length - names.indexOf(WECHAT_IDENTITY));
    expect(undone.results?.at(-1)?.migrationName).toBe(WECHAT_IDENTITY);
    const { users: _users, ...others } = await rowCounts(g);
    expect(_users).toBe(before.users);
    for (const [table, count] of Object.entries(others)) if (table in before) expect(count, table).toBe(before[table]);

    await migrateToLatest(db);
    expect(await rowCounts(g)).toEqual(before);
    // The session and the key still work, the balance is what it was.
    const profile = await call(g.t.app, 'GET', '/api/user/profile', { token: caller.user.accessToken });
    expect(profile.statusCode, profile.body).toBe(200);
    expect((await v1(g, caller.secret, 'POST', '/v1/chat/completions', chatBody())).statusCode).toBe(200);
    if (backend.dialect === 'sqlite') {
      const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      expect(Number(rows[0]!.foreign_keys)).toBe(1);
      const { rows: parents } = await sql<{ table: string }>`pragma foreign_key_list('credit_ledger')`.execute(db);
      expect(parents.map((row) => row.table)).toContain('users');
    }
  });

  it('admits accounts without email or password, keeps openids unique, and will not go down while one exists', async () => {
    const db = g.t.app.services.database.db;
    const now = Date.now();
    const row = (openid: string | null) => ({
      id: newId(now),
      email: null,
      username: 'wx',
      password_hash: null,
      created_at: now,
      updated_at: now,
      wechat_openid: openid,
    });
    const openid = `o${newId(now).replace(/-/g, '').slice(0, 27)}`;
    await db.insertInto('users').values(row(openid)).execute();
    await db.insertInto('users').values(row(null)).execute();
    await db.insertInto('users').values(row(null)).execute();
    await expect(db.insertInto('users').values(row(openid)).execute()).rejects.toThrow();

    const names = Object.keys(migrations);
    await expect(migrateDown(db, names.length - names.indexOf(WECHAT_IDENTITY))).rejects.toThrow(/WeChat-only/);
    const columns = (await db.introspection.getTables()).find((t) => t.name === 'users')!.columns.map((c) => c.name);
    expect(columns).toContain('wechat_openid');
  });
});
