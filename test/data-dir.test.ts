import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '#src/app.ts';
import { call, freshEmail, freshIp, testConfig } from '#test/helpers/test-app.ts';

/**
 * What Tollgate keeps on disk (codes in the outbox, generated secrets, the SQLite database with its
 * WAL and shared memory) is readable by the account that runs it only, whether Tollgate creates it or
 * an older version left it wider.
 */
const modeOf = (path: string) => statSync(path).mode & 0o777;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-modes-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string) {
  const db = join(dataDir, 'tollgate.db');
  const config = testConfig({ databaseUrl: `sqlite:${db}`, dataDir, redisUrl: undefined, prefix: 'modes:' });
  return { app: await buildApp(config), db };
}

describe('the data folder and its files', () => {
  it('are created readable by the owner only: the folder 0700, the database, its WAL and shared memory and the outbox 0600', async () => {
    const dataDir = join(tempDir(), 'new', 'data');
    const { app, db } = await start(dataDir);
    try {
      expect(
        await call(app, 'POST', '/api/auth/send-code', { body: { email: freshEmail('modes') }, ip: freshIp() }),
      ).toMatchObject({ statusCode: 200 });
      expect(modeOf(dataDir)).toBe(0o700);
      for (const file of [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'outbox.jsonl')])
        expect(modeOf(file), file).toBe(0o600);
    } finally {
      await app.close();
    }
  });

  it('that an older version left readable by everyone are narrowed at start', async () => {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const db = join(dataDir, 'tollgate.db');
    // A database in WAL mode held open by another connection keeps its -wal and -shm files.
    const other = new SQLite(db);
    other.pragma('journal_mode = WAL');
    other.exec('create table left_behind (x integer)');
    const outbox = join(dataDir, 'outbox.jsonl');
    const secrets = join(dataDir, 'secrets.json');
    writeFileSync(outbox, '{"text":"Code 123456"}\n');
    writeFileSync(secrets, '{}\n');
    const files = [db, `${db}-wal`, `${db}-shm`, outbox, secrets];
    for (const file of files) {
      expect(existsSync(file), file).toBe(true);
      chmodSync(file, 0o644);
    }
    try {
      const { app } = await start(dataDir);
      await app.close();
      expect(modeOf(dataDir)).toBe(0o700);
      for (const file of files) expect(modeOf(file), file).toBe(0o600);
    } finally {
      other.close();
    }
  });

  it('a DATA_DIR that cannot be made private does not stop a start that does not use it', async () => {
    const place = tempDir();
    const notADirectory = join(place, 'data-is-a-file');
    writeFileSync(notADirectory, '');
    const config = testConfig({
      databaseUrl: `sqlite:${join(place, 'db', 'tollgate.db')}`,
      dataDir: notADirectory,
      redisUrl: undefined,
      prefix: 'modes:',
    });
    const app = await buildApp(config);
    try {
      expect((await call(app, 'GET', '/api/health')).statusCode).toBe(200);
      expect(modeOf(join(place, 'db'))).toBe(0o700);
    } finally {
      await app.close();
    }
  });
});
