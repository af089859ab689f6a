import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { createPool as createMysqlPool } from 'mysql2';
import pg from 'pg';
import { ConfigError, maskUrl } from '#core/config.ts';
import { makeOwnerOnlyDir, makeOwnerOnlyFile, narrowExisting } from '#core/data-dir.ts';
import { dialectCapabilities, type DialectCapabilities, type DialectName } from './dialect.ts';
import type { DB } from './schema.ts';
import { checkpointInBackground, type Checkpoints } from './sqlite-checkpoints.ts';
import { preparedNameOf } from './statements.ts';

export type { DialectName } from './dialect.ts';

export interface Database {
  readonly db: Kysely<DB>;
  /**
   * For single statements whose loss in a crash of the database server does no harm (a credit hold:
   * a crash releases it anyway). On PostgreSQL, connections that commit without waiting for the disk
   * (synchronous_commit = off): still atomic and at once visible to every other connection, and made
   * durable by the next ordinary commit after them (the WAL is written in order), so a settle that
   * commits makes its hold durable too. Elsewhere the same as `db`.
   */
  readonly relaxed: Kysely<DB>;
  readonly dialect: DialectName;
  /** How this database differs from the others: handed to every repository that writes SQL by hand. */
  readonly capabilities: DialectCapabilities;
  /** Round-trips one trivial query; resolves to the latency in ms or throws. */
  ping(): Promise<number>;
  destroy(): Promise<void>;
}

// BIGINT (int8) columns hold epoch milliseconds and credits: read them as numbers, not strings.
pg.types.setTypeParser(20, (value) => Number(value));

export function dialectOf(url: string): DialectName {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  if (url.startsWith('mysql://')) return 'mysql';
  throw new Error(`Unsupported DATABASE_URL scheme: ${url.split(':')[0] ?? ''}`);
}

export interface DatabaseOptions {
  poolSize?: number;
  /** Told about errors of idle pooled connections (PostgreSQL), which are otherwise harmless. */
  onIdleError?: (error: Error) => void;
}

export function createDatabase(url: string, options: DatabaseOptions = {}): Database {
  const dialect = dialectOf(url);
  const poolSize = options.poolSize ?? 10;
  let kysely: Kysely<DB>;
  let relaxed: Kysely<DB> | undefined;
  let checkpoints: Checkpoints | undefined;
  switch (dialect) {
    case 'sqlite': {
      const file = url.slice('sqlite:'.length);
      const onDisk = file !== ':memory:' && file !== '';
      // The database file, its WAL and shared memory are the owner's alone (SQLite gives the last two
      // the mode of the first when it creates them); files an older version left wider are narrowed.
      if (onDisk) {
        makeOwnerOnlyDir(dirname(resolve(file)));
        makeOwnerOnlyFile(file);
      }
      const connection = new SQLite(file);
      connection.pragma('journal_mode = WAL');
      if (onDisk) narrowExisting([`${file}-wal`, `${file}-shm`]);
      connection.pragma('synchronous = NORMAL');
      connection.pragma('busy_timeout = 5000');
      connection.pragma('foreign_keys = ON');
      if (file !== ':memory:') checkpoints = checkpointInBackground(connection, file);
      kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
      break;
    }
    case 'postgres': {
      kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool: postgresPool(url, poolSize, options) }) });
      relaxed = new Kysely<DB>({
        dialect: new PostgresDialect({
          pool: postgresPool(url, Math.max(1, Math.ceil(poolSize / 2)), options, '-c synchronous_commit=off'),
        }),
      });
      break;
    }
    case 'mysql':
      kysely = new Kysely<DB>({
        dialect: new MysqlDialect({
          pool: createMysqlPool({ uri: url, connectionLimit: poolSize, charset: 'utf8mb4', supportBigNumbers: true }),
        }),
      });
      break;
  }
  const main = kysely;
  return {
    db: kysely,
    relaxed: relaxed ?? kysely,
    dialect,
    capabilities: dialectCapabilities(dialect),
    async ping() {
      const started = performance.now();
      await sql`select 1`.execute(kysely);
      return Math.round((performance.now() - started) * 100) / 100;
    },
    destroy: async () => {
      await checkpoints?.stop();
      await Promise.all([main.destroy(), relaxed?.destroy()]);
    },
  };
}

function postgresPool(url: string, max: number, options: DatabaseOptions, serverOptions?: string): pg.Pool {
  // Prepared (hot) statements get one generic plan at once: they look rows up by key, and planning
  // their first executions anew, PostgreSQL's default, cost more than running them.
  const serverSettings = ['-c plan_cache_mode=force_generic_plan', serverOptions].filter(Boolean).join(' ');
  const pool = new pg.Pool({ connectionString: url, max, options: serverSettings });
  // An idle connection the server drops (a restart, a failover) must not crash the process; the
  // pool replaces it and the next query reports any lasting problem.
  pool.on('error', (error) => options.onIdleError?.(error));
  // A connection reset while a client is checked out is emitted on the client, where the pool no
  // longer listens; unheard, it would kill the process. The statement in flight still fails with
  // it and the pool drops the broken client.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error));
    prepareHotStatements(client);
  });
  return pool;
}

/**
 * Start-up: opens the database and proves it answers, or fails with a message naming
 * DATABASE_URL (credentials masked) and leaves no pool or file handle open.
 */
export async function connectDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  let database: Database | undefined;
  try {
    database = createDatabase(url, options);
    await database.ping();
    return database;
  } catch (error) {
    await database?.destroy().catch(() => undefined);
    throw new ConfigError(`Cannot open the database at DATABASE_URL=${maskUrl(url)}: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
  if (error instanceof Error) return error.message || ((error as { code?: string }).code ?? error.name);
  return String(error);
}

/**
 * better-sqlite3 compiles a statement on every `prepare`; Kysely prepares every query it runs. The
 * same SQL text always gets the same compiled statement back here (bounded, oldest dropped first).
 */
function withStatementCache(connection: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => connection.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        statement = connection.prepare(text);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * The hot statements (see `preparedNameOf`) go to the server as named prepared statements, parsed and
 * planned once per connection; every other query as Kysely sends it.
 */
function prepareHotStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (config: unknown, values?: unknown) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown) => {
    const name = typeof config === 'string' && Array.isArray(values) ? preparedNameOf(config) : undefined;
    return name ? query({ name, text: config, values }) : query(config, values);
  };
}
