import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '#test/fakes/silent.ts';
import { createTestDatabase, type TestDatabase } from '#test/helpers/databases.ts';
import { clearRedisPrefix, uniquePrefix } from '#test/helpers/kv.ts';
import { untilAnswers } from '#test/helpers/processes.ts';

/**
 * Each seed's own example `.env` (test/fixtures/seed-env/) starts the real entry point, `src/main.ts`,
 * read from the file as a user moving from that seed would have it, on a throwaway database of the
 * seed's kind. Needs TEST_POSTGRES_URL / TEST_MYSQL_URL (and TEST_REDIS_URL for seed 004).
 */
const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'seed-env');

interface Running {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The fixture with its {{…}} filled in from the throwaway database and the test Redis. */
function seedEnvFile(seed: string, database: TestDatabase, dir: string): string {
  const url = new URL(database.url);
  const redis = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const values: Record<string, string> = {
    DB_HOST: url.hostname,
    DB_PORT: url.port || (database.dialect === 'mysql' ? '3306' : '5432'),
    DB_USER: decodeURIComponent(url.username),
    DB_PASSWORD: decodeURIComponent(url.password),
    DB_NAME: url.pathname.slice(1),
    REDIS_HOST: redis.hostname,
    REDIS_PORT: redis.port || '6379',
  };
  const text = readFileSync(join(FIXTURES, `${seed}.env`), 'utf8').replace(
    /\{\{(\w+)\}\}/g,
    (_all, name: string) => values[name]!,
  );
  const file = join(dir, '.env');
  writeFileSync(file, text);
  return file;
}

/** `node --import tsx src/main.ts` with nothing but the seed's .env (and where to listen and keep data). */
async function startWithSeedEnv(
  seed: string,
  dialect: 'postgres' | 'mysql',
  extra: Record<string, string> = {},
): Promise<Running> {
  const database = await createTestDatabase(dialect);
  cleanups.push(() => database.drop());
  const dir = mkdtempSync(join(tmpdir(), `tollgate-seed-${seed}-`));
  cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const port = await closedPort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...inherited,
      DOTENV_CONFIG_PATH: seedEnvFile(seed, database, dir),
      DATA_DIR: join(dir, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      ...extra,
    },
  });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await untilAnswers(child, `http://127.0.0.1:${port}/api/health`, () => `${out}\n${err}`);
  return { child, port, stdout: () => out, stderr: () => err };
}

async function health(
  running: Running,
): Promise<{ status: number; body: Record<string, { status?: string; kind?: string } | string> }> {
  const response = await fetch(`http://127.0.0.1:${running.port}/api/health`);
  return {
    status: response.status,
    body: (await response.json()) as Record<string, { status?: string; kind?: string }>,
  };
}

/** The JSON log lines (pino) the process wrote. */
function logLines(running: Running): { level: number; msg: string; [field: string]: unknown }[] {
  return running
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });
}

const hasPostgres = Boolean(process.env.TEST_POSTGRES_URL);
const hasMysql = Boolean(process.env.TEST_MYSQL_URL);

describe("each seed's example .env starts Tollgate", () => {
  it.skipIf(!hasPostgres)(
    'seed 000: DATABASE_URL, DIFY_API_KEY alone (Dify Cloud), RESEND_API_KEY alone, a 25-character JWT_SECRET',
    async () => {
      const running = await startWithSeedEnv('000', 'postgres');
      const { status, body } = await health(running);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok', database: { status: 'up', kind: 'postgres' } });
      const lines = logLines(running);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'first Dify app created from DIFY_API_URL', baseUrl: 'https://api.dify.ai/v1' }),
      );
      const warning = lines.find((line) => line.msg.includes('JWT_SECRET must be at least 32 characters'));
      expect(warning?.level).toBe(40);
      expect(running.stdout()).not.toContain('your-super-secret-jwt-key');
    },
  );

  it.skipIf(!hasMysql)(
    "seed 002: SQLAlchemy's mysql+pymysql:// DATABASE_URL, SECRET_KEY, DIFY_API_URL without a key",
    async () => {
      const running = await startWithSeedEnv('002', 'mysql');
      const { status, body } = await health(running);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok', database: { status: 'up', kind: 'mysql' } });
      expect(logLines(running).filter((line) => line.level >= 40)).toEqual([]);
    },
  );

  it.skipIf(!hasPostgres)(
    'seed 003: DATABASE_USERNAME/PASSWORD/NAME, an empty REDIS_PASSWORD, CORS_ORIGIN=*',
    async () => {
      const running = await startWithSeedEnv('003', 'postgres');
      const { status, body } = await health(running);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        status: 'ok',
        database: { status: 'up', kind: 'postgres' },
        redis: { status: 'disabled' },
      });
      const cors = await fetch(`http://127.0.0.1:${running.port}/api/health`, {
        headers: { origin: 'https://miniapp.example.com' },
      });
      expect(cors.headers.get('access-control-allow-origin')).toBe('https://miniapp.example.com');
    },
  );

  it.skipIf(!hasMysql || !process.env.TEST_REDIS_URL)(
    'seed 004: DB_*, REDIS_HOST/PORT, JWT_EXPIRES_IN, EMAIL_FROM/EMAIL_REPLY_TO',
    async () => {
      const prefix = uniquePrefix();
      cleanups.push(() => clearRedisPrefix(process.env.TEST_REDIS_URL!, prefix));
      const running = await startWithSeedEnv('004', 'mysql', { REDIS_PREFIX: prefix });
      const { status, body } = await health(running);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'ok', database: { status: 'up', kind: 'mysql' }, redis: { status: 'up' } });
    },
  );
});
