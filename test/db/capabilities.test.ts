import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '#core/db/create-db.ts';
import type { DB } from '#core/db/schema.ts';
import { Statement } from '#core/db/statements.ts';
import { availableDialects, createTestDatabase, type TestDatabase } from '#test/helpers/databases.ts';

/**
 * What DialectCapabilities says of each database is true of the real one: the hand-written statements
 * of the money path choose their way by it, so a wrong claim would send a statement the database
 * refuses, or leave a round trip on the table.
 */
describe.each(availableDialects())('the capabilities of %s', (dialect) => {
  let testDb: TestDatabase;
  let database: Database;
  let db: Kysely<DB>;
  const statement = () => new Statement(database.capabilities);
  const rowsOf = async (label: string) =>
    (
      await statement()
        .sql('select "id", "n" from "probe" where "label" = ')
        .param(label)
        .sql(' order by "id"')
        .run<{ id: string; n: number }>(db)
    ).rows;

  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    database = createDatabase(testDb.url);
    // A table of the test's own (not in the schema the code knows): reached by hand-written statements only.
    db = database.db;
    await db.schema
      .createTable('probe')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('label', 'varchar(64)', (c) => c.notNull())
      .addColumn('n', 'bigint', (c) => c.notNull())
      .execute();
  });
  afterAll(async () => {
    await database.destroy();
    await testDb.drop();
  });

  it('names itself as the Database does', () => {
    expect(database.capabilities.name).toBe(database.dialect);
  });

  it('quotes identifiers and numbers placeholders as the database reads them, also in an appended statement', async () => {
    const insert = statement()
      .sql('insert into "probe" ("id", "label", "n") values ')
      .tuple(['q1', 'quotes', 1])
      .sql(', ')
      .tuple(['q2', 'quotes', 2]);
    await insert.run(db);
    const select = statement()
      .sql('select "id", "n" from "probe" where "label" = ')
      .param('quotes')
      .sql(' and "n" in (select "n" from "probe" where "n" >= ');
    select.append(statement().sql('').param(2)).sql(') order by "id"');
    expect(select.parameters).toEqual(['quotes', 2]);
    expect((await select.run<{ id: string; n: number }>(db)).rows.map((r) => [r.id, Number(r.n)])).toEqual([['q2', 2]]);
  });

  it('returns rows from an UPDATE exactly where it says it can', async () => {
    await statement().sql('insert into "probe" ("id", "label", "n") values ').tuple(['r1', 'returning', 5]).run(db);
    const update = statement().sql('update "probe" set "n" = "n" + 1 where "id" = ').param('r1').sql(' returning "n"');
    if (database.capabilities.returning)
      expect((await update.run<{ n: number }>(db)).rows.map((r) => Number(r.n))).toEqual([6]);
    else await expect(update.run(db)).rejects.toThrow();
  });

  it('runs several writes as one statement (data-modifying WITH queries) exactly where it says it can', async () => {
    const both = statement()
      .sql('with "first" as (insert into "probe" ("id", "label", "n") values ')
      .tuple(['w1', 'with', 1])
      .sql(' returning "id") insert into "probe" ("id", "label", "n") select ')
      .param('w2')
      .sql(', ')
      .param('with')
      .sql(', 2 from "first"');
    if (!database.capabilities.writingCtes) {
      await expect(both.run(db)).rejects.toThrow();
      expect(await rowsOf('with')).toEqual([]);
      return;
    }
    await both.run(db);
    expect((await rowsOf('with')).map((r) => r.id)).toEqual(['w1', 'w2']);
  });

  it('its insert-if-new clause leaves a row whose id is taken as it was, and writes the new ones', async () => {
    const insert = (id: string, n: number) =>
      statement()
        .sql('insert into "probe" ("id", "label", "n") values ')
        .tuple([id, 'if-new', n])
        .sql(database.capabilities.insertIfNewId);
    await insert('n1', 1).run(db);
    await insert('n1', 99).run(db);
    await insert('n2', 2).run(db);
    expect((await rowsOf('if-new')).map((r) => [r.id, Number(r.n)])).toEqual([
      ['n1', 1],
      ['n2', 2],
    ]);
    // Without it, the same insert fails: the clause is what makes a repeated write harmless.
    await expect(
      statement().sql('insert into "probe" ("id", "label", "n") values ').tuple(['n1', 'if-new', 3]).run(db),
    ).rejects.toThrow();
  });

  it('counts days in a zone as whole numbers', async () => {
    const eightHours = 8 * 3_600_000;
    const day = 20_000;
    // 23:30 UTC on a day is the next day in a zone eight hours ahead.
    await statement()
      .sql('insert into "probe" ("id", "label", "n") values ')
      .tuple(['d1', 'day', day * 86_400_000 + 23.5 * 3_600_000])
      .run(db);
    const { dayNumber } = database.capabilities;
    const { rows } = await sql<{
      zoned: number;
      utc: number;
    }>`select ${dayNumber('n', eightHours)} as ${sql.ref('zoned')}, ${dayNumber('n', 0)} as ${sql.ref('utc')} from ${sql.table('probe')} where ${sql.ref('id')} = ${'d1'}`.execute(
      db,
    );
    expect(rows.map((r) => [Number(r.zoned), Number(r.utc)])).toEqual([[day + 1, day]]);
  });
});
