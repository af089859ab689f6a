import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import type { DialectName } from '#core/db/create-db.ts';

export interface TestDatabase {
  dialect: DialectName;
  url: string;
  drop(): Promise<void>;
}

/** SQLite always; PostgreSQL and MySQL when TEST_POSTGRES_URL / TEST_MYSQL_URL are set. */
export function availableDialects(): DialectName[] {
  const dialects: DialectName[] = ['sqlite'];
  if (process.env.TEST_POSTGRES_URL) dialects.push('postgres');
  if (process.env.TEST_MYSQL_URL) dialects.push('mysql');
  return dialects;
}

function uniqueName(): string {
  return `tollgate_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh, empty database of its own for one test file; `drop` removes every trace. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  const name = uniqueName();
  switch (dialect) {
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-db-'));
      return {
        dialect,
        url: `sqlite:${join(dir, `${name}.db`)}`,
        drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
      };
    }
    case 'postgres': {
      const serverUrl = process.env.TEST_POSTGRES_URL!;
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return {
        dialect,
        url: withDatabase(serverUrl, name),
        async drop() {
          const client = new pg.Client({ connectionString: serverUrl });
          await client.connect();
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.end();
        },
      };
    }
    case 'mysql': {
      const serverUrl = process.env.TEST_MYSQL_URL!;
      const admin = await createConnection(serverUrl);
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.end();
      return {
        dialect,
        url: withDatabase(serverUrl, name),
        async drop() {
          const client = await createConnection(serverUrl);
          await client.query(`DROP DATABASE IF EXISTS ${name}`);
          await client.end();
        },
      };
    }
  }
}
