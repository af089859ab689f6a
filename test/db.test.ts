import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#test/helpers/clock.ts';
import { availableDialects, createTestDatabase, type TestDatabase } from '#test/helpers/databases.ts';
import { ConfigError } from '#core/config.ts';
import { connectDatabase, createDatabase, type Database } from '#core/db/create-db.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import { preparedNameOf, Statement } from '#core/db/statements.ts';
import { migrateDown, migrateToLatest } from '#core/db/migrator.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { InvalidationBus } from '#core/invalidation.ts';
import { newId } from '#core/ids.ts';
import { UsersRepository } from '#modules/users/users.repository.ts';
import { UsersService } from '#modules/users/users.service.ts';
import { migrations } from '#migrations/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const MIGRATIONS = Object.keys(migrations);
const NEWEST = MIGRATIONS.at(-1)!;

/** Application tables (Kysely's own bookkeeping tables left out). */
async function appTables(database: Database): Promise<string[]> {
  const tables = await database.db.introspection.getTables();
  return tables
    .map((t) => t.name)
    .filter((name) => !name.startsWith('kysely_'))
    .sort();
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the query to fail');
}

function userRow(email: string, createdAt = Date.now()) {
  return { id: newId(), email, username: 'u', password_hash: 'x', created_at: createdAt, updated_at: createdAt };
}

describe.each(availableDialects())('database on %s', (dialect) => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    database = createDatabase(testDb.url);
  });
  afterAll(async () => {
    await database.destroy();
    await testDb.drop();
  });

  it('migrates up, down to nothing, and up again; a second up has nothing to do', async () => {
    const up = await migrateToLatest(database.db);
    expect(up.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual(
      MIGRATIONS.map((name) => [name, 'Up', 'Success']),
    );
    expect(await appTables(database)).toEqual(expect.arrayContaining(['refresh_tokens', 'sessions', 'users']));

    const down = await migrateDown(database.db);
    expect(down.results?.map((r) => [r.migrationName, r.status])).toEqual(
      [...MIGRATIONS].reverse().map((name) => [name, 'Success']),
    );
    expect(await appTables(database)).toEqual([]);

    const again = await migrateToLatest(database.db);
    expect(again.results?.map((r) => r.migrationName)).toEqual(MIGRATIONS);
    expect(await appTables(database)).toEqual(expect.arrayContaining(['refresh_tokens', 'sessions', 'users']));
    expect((await migrateToLatest(database.db)).results).toEqual([]);
  });

  it('recognises a duplicate email (and a duplicate key) as a unique violation, and nothing else', async () => {
    const users = new UsersRepository(database.db);
    const email = `dup-${newId()}@example.com`;
    const first = userRow(email);
    await users.insert(first);
    expect(isUniqueViolation(await thrown(users.insert(userRow(email))))).toBe(true);
    expect(isUniqueViolation(await thrown(users.insert({ ...userRow(`other-${email}`), id: first.id })))).toBe(true);

    const orphan = { id: newId(), user_id: newId(), created_at: Date.now(), expires_at: Date.now() + 1000 };
    const fk = await thrown(database.db.insertInto('sessions').values(orphan).execute());
    expect(isUniqueViolation(fk)).toBe(false);
    expect(isUniqueViolation(new Error('connection reset'))).toBe(false);
    expect(isUniqueViolation(undefined)).toBe(false);
  });

  it('turns a taken email into EMAIL_ALREADY_REGISTERED, whatever its case', async () => {
    const service = new UsersService(
      database.db,
      new UsersRepository(database.db),
      InvalidationBus.local(),
      new ManualClock(),
    );
    const email = `Case-${newId()}@Example.com`;
    await service.create({ email, username: 'a', password: 'Sup3rSecret' });
    const error = await thrown(service.create({ email: email.toUpperCase(), username: 'b', password: 'Sup3rSecret' }));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('EMAIL_ALREADY_REGISTERED');
    const found = await database.db
      .selectFrom('users')
      .select('email')
      .where('email', '=', email.toLowerCase())
      .execute();
    expect(found).toHaveLength(1);
  });

  it('enforces foreign keys and cascades deletes', async () => {
    const user = userRow(`fk-${newId()}@example.com`);
    await new UsersRepository(database.db).insert(user);
    const session = { id: newId(), user_id: user.id, created_at: Date.now(), expires_at: Date.now() + 1000 };
    await database.db.insertInto('sessions').values(session).execute();
    await database.db.deleteFrom('users').where('id', '=', user.id).execute();
    expect(await database.db.selectFrom('sessions').select('id').where('id', '=', session.id).execute()).toEqual([]);
  });

  it('reads BIGINT columns and counts back as JS numbers', async () => {
    const huge = Number.MAX_SAFE_INTEGER;
    const millis = 1_763_700_000_123;
    const user = userRow(`big-${newId()}@example.com`, millis);
    await new UsersRepository(database.db).insert({ ...user, updated_at: huge });
    const row = await database.db
      .selectFrom('users')
      .select(['created_at', 'updated_at'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.created_at).toBe(millis);
    expect(row.updated_at).toBe(huge);

    const { n } = await database.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(typeof n).toBe('number');
    expect(n).toBeGreaterThan(0);
  });

  it('ping answers with a latency, and fails once the database is closed', async () => {
    const own = createDatabase(testDb.url, { poolSize: 1 });
    expect(typeof (await own.ping())).toBe('number');
    await own.destroy();
    await expect(own.ping()).rejects.toThrow();
  });

  it('the relaxed connections commit without waiting for the disk on PostgreSQL (the same database elsewhere), and are closed with it', async () => {
    const own = createDatabase(testDb.url, { poolSize: 2 });
    if (dialect !== 'postgres') {
      expect(own.relaxed).toBe(own.db);
      await own.destroy();
      return;
    }
    const setting = async (db: Database['db']) =>
      (await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(db)).rows[0]!.synchronous_commit;
    expect(await setting(own.relaxed)).toBe('off');
    expect(await setting(own.db)).toBe('on');
    // What one writes the other sees at once: a relaxed commit is still a commit.
    await migrateToLatest(own.db);
    const row = userRow(`relaxed-${newId()}@example.com`);
    await own.relaxed.insertInto('users').values(row).execute();
    expect(await own.db.selectFrom('users').select('email').where('id', '=', row.id).executeTakeFirst()).toEqual({
      email: row.email,
    });
    await own.destroy();
    await expect(sql`select 1`.execute(own.relaxed)).rejects.toThrow();
  });

  it('the hot statements (shaped) are prepared once per connection on PostgreSQL; other queries are not', async () => {
    const shape = `test-prepared:${newId()}`;
    if (!database.capabilities.preparesByName) {
      const text = new Statement(database.capabilities, shape)
        .sql('select ')
        .param(41)
        .sql(' + 1 as "answer"')
        .toString();
      expect(preparedNameOf(text)).toBeUndefined(); // the drivers of the others cache by text already
      return;
    }
    const statement = () =>
      new Statement(database.capabilities, shape).sql('select ').param(41).sql('::int + 1 as "answer"');
    const prepared = await database.db.transaction().execute(async (trx) => {
      expect((await statement().run<{ answer: number }>(trx)).rows).toEqual([{ answer: 42 }]);
      expect((await statement().run<{ answer: number }>(trx)).rows).toEqual([{ answer: 42 }]);
      await sql`select ${1}::int as "other"`.execute(trx);
      return (
        await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(trx)
      ).rows;
    });
    const text = statement().toString();
    expect(prepared.filter((p) => p.statement === text)).toEqual([{ name: preparedNameOf(text), statement: text }]);
    expect(prepared.some((p) => p.statement.includes('"other"'))).toBe(false);
  });
});

describe('SQLite', () => {
  let testDb: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase('sqlite');
    database = createDatabase(testDb.url);
  });
  afterAll(async () => {
    await database.destroy();
    await testDb.drop();
  });

  it('runs in WAL mode with a busy timeout and foreign keys on', async () => {
    const pragma = async (name: string) =>
      (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(database.db)).rows[0];
    expect(await pragma('journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(Number(Object.values((await pragma('busy_timeout'))!)[0])).toBeGreaterThanOrEqual(1000);
    expect(await pragma('foreign_keys')).toEqual({ foreign_keys: 1 });
  });

  it('checkpoints the WAL on a thread of its own, never inside a commit on the event loop', async () => {
    const own = await createTestDatabase('sqlite');
    const file = own.url.slice('sqlite:'.length);
    const instance = createDatabase(own.url);
    try {
      expect(
        (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(instance.db)).rows[0],
      ).toEqual({ wal_autocheckpoint: 0 });
      await migrateToLatest(instance.db);
      const before = statSync(file).size;
      // ~3 MB of users: far past the 1000 pages at which a commit would otherwise stop to checkpoint.
      for (let batch = 0; batch < 30; batch++) {
        await instance.db.transaction().execute(async (trx) => {
          for (let i = 0; i < 100; i++)
            await trx
              .insertInto('users')
              .values({ ...userRow(`wal-${batch}-${i}-${newId()}@example.com`), username: 'x'.repeat(900) })
              .execute();
        });
      }
      // The commits only appended to the WAL; the pages reach the database file when the thread copies them.
      const deadline = Date.now() + 5000;
      while (statSync(file).size < before + 2_000_000 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(statSync(file).size).toBeGreaterThan(before + 2_000_000);
      const count = await instance.db
        .selectFrom('users')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(3000);
    } finally {
      await instance.destroy();
      await own.drop();
    }
  });

  it('a transaction the database refuses for a moment (the write lock is taken) runs again; one it keeps refusing fails after a few tries', async () => {
    const own = await createTestDatabase('sqlite');
    const instance = createDatabase(own.url);
    // Another process holds the write lock; this connection does not wait for it inside SQLite.
    const other = new SQLite(own.url.slice('sqlite:'.length));
    try {
      await migrateToLatest(instance.db);
      await sql`pragma busy_timeout = 0`.execute(instance.db);
      const insert = (email: string) => {
        let tries = 0;
        const done = transact(instance.db, async (trx) => {
          tries += 1;
          await trx.insertInto('users').values(userRow(email)).execute();
        });
        return { done, tries: () => tries };
      };
      other.exec('begin immediate');
      const brief = insert(`busy-${newId()}@example.com`);
      setTimeout(() => other.exec('commit'), 8);
      await brief.done;
      expect(brief.tries()).toBeGreaterThan(1);
      expect(await instance.db.selectFrom('users').select('id').execute()).toHaveLength(1);

      other.exec('begin immediate');
      const kept = insert(`kept-busy-${newId()}@example.com`);
      await expect(kept.done).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(kept.tries()).toBe(4);
      other.exec('commit');

      // Anything else is not tried again.
      const email = `twice-${newId()}@example.com`;
      await insert(email).done;
      const again = insert(email);
      expect(isUniqueViolation(await thrown(again.done))).toBe(true);
      expect(again.tries()).toBe(1);
    } finally {
      other.close();
      await instance.destroy();
      await own.drop();
    }
  });

  it('instances migrating one file at the same moment apply each migration once, and all succeed', async () => {
    const shared = await createTestDatabase('sqlite');
    const instances = [1, 2, 3].map(() => createDatabase(shared.url));
    const busyTimeout = async () =>
      (await sql<{ timeout: number }>`pragma busy_timeout`.execute(instances[1]!.db)).rows[0]!.timeout;
    try {
      const before = await busyTimeout();
      const results = await Promise.all(instances.map((instance) => migrateToLatest(instance.db)));
      expect(results.flatMap((r) => r.results ?? []).map((r) => r.migrationName)).toEqual(MIGRATIONS);
      const applied = await instances[0]!.db
        .selectFrom('kysely_migration' as never)
        .select(sql`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(applied.n)).toBe(MIGRATIONS.length);
      // The busy timeout the guard lowered while waiting is back.
      expect(await busyTimeout()).toBe(before);
    } finally {
      await Promise.all(instances.map((instance) => instance.destroy()));
      await shared.drop();
    }
  });
});

describe('connectDatabase', () => {
  it('fails with a message naming DATABASE_URL, without its password, when the database cannot be reached', async () => {
    const error = await thrown(connectDatabase('postgres://app:hunter2@127.0.0.1:1/tollgate'));
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL=postgres://***@127.0.0.1:1/tollgate');
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('hunter2');
  });

  it('fails naming DATABASE_URL when the SQLite file cannot be created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-db-'));
    try {
      writeFileSync(join(dir, 'not-a-dir'), '');
      const error = await thrown(connectDatabase(`sqlite:${join(dir, 'not-a-dir', 'x.db')}`));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('DATABASE_URL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(availableDialects())('npm run db:migrate on %s', (dialect) => {
  let testDb: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
  });
  afterAll(async () => {
    await testDb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const migrate = async (...args: string[]) => {
    const { stdout } = await run('npm', ['run', '--silent', 'db:migrate', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: testDb.url, DATA_DIR: dataDir, NODE_ENV: 'test' },
    });
    return stdout;
  };
  const tables = async () => {
    const database = createDatabase(testDb.url);
    try {
      return await appTables(database);
    } finally {
      await database.destroy();
    }
  };

  it('migrates a fresh database, `-- down` undoes the newest migration, `-- down N` undoes the rest', async () => {
    const up = await migrate();
    for (const name of MIGRATIONS) expect(up).toContain(`Up ${name}: Success`);
    expect(await tables()).toEqual(expect.arrayContaining(['refresh_tokens', 'sessions', 'users']));
    expect(await migrate()).toContain('Nothing to migrate.');

    const down = await migrate('down');
    expect(down.trim()).toBe(`Down ${NEWEST}: Success`);
    expect(await migrate()).toContain(`Up ${NEWEST}: Success`);

    const all = await migrate('down', String(MIGRATIONS.length + 5));
    for (const name of MIGRATIONS) expect(all).toContain(`Down ${name}: Success`);
    expect(await tables()).toEqual([]);
    // Six runs of the CLI, each a tsx start-up of a few seconds on a busy machine.
  }, 120_000);
});

describe('npm run db:migrate', () => {
  it('reads DATABASE_URL from a .env file in the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-env-'));
    try {
      writeFileSync(
        join(dir, '.env'),
        `DATABASE_URL=sqlite:${join(dir, 'from-env.db')}\nDATA_DIR=${join(dir, 'data')}\n`,
      );
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test' };
      delete env.DATABASE_URL;
      delete env.DATA_DIR;
      const { stdout } = await run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/core/db/migrate-cli.ts')], {
        cwd: dir,
        env,
      });
      expect(stdout).toContain(`Up ${MIGRATIONS[0]!}: Success`);
      const database = createDatabase(`sqlite:${join(dir, 'from-env.db')}`);
      expect(await appTables(database)).toContain('users');
      await database.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with a message naming DATABASE_URL when the database is unreachable', async () => {
    const failure = await thrown(
      run('npm', ['run', '--silent', 'db:migrate'], {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: 'mysql://root:hunter2@127.0.0.1:1/nothing',
          NODE_ENV: 'test',
          JWT_SECRET: 'x'.repeat(40),
          MASTER_KEY: '0'.repeat(64),
        },
      }),
    );
    const { code, stderr } = failure as { code: number; stderr: string };
    expect(code).not.toBe(0);
    expect(stderr).toContain('DATABASE_URL=mysql://***@127.0.0.1:1/nothing');
    expect(stderr).not.toContain('hunter2');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
