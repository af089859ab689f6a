import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '#core/db/create-db.ts';
import { FakeOpenAI } from '#test/fakes/openai.ts';
import { closedPort } from '#test/fakes/silent.ts';
import { STRONG_PASSWORD } from '#test/helpers/test-app.ts';

const ROOT = resolve(import.meta.dirname, '..');

interface Server {
  child: ChildProcess;
  port: number;
  dataDir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the real entry point, `node --import tsx src/main.ts`, on its own data folder and SQLite file. */
async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-server-'));
  dirs.push(dataDir);
  const port = await closedPort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'TMPDIR', 'LANG'].includes(key)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...inherited,
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 't.db')}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, port: Number(env.PORT ?? port), dataDir, stdout: () => out, stderr: () => err, exited };
}

/** Polls /api/health until it answers (or the process dies). */
async function waitUntilUp(server: Server): Promise<Response> {
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`server exited ${server.child.exitCode}: ${server.stderr()}`);
    try {
      return await fetch(`http://127.0.0.1:${server.port}/api/health`);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function post(server: Server, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('the server process (src/main.ts)', () => {
  it('serves the quick start on SQLite, logs with request ids, and exits 0 on SIGTERM', async () => {
    const server = await startServer();
    const health = await waitUntilUp(server);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      environment: 'development',
      database: { status: 'up', kind: 'sqlite' },
    });

    // A newcomer registers with the code from DATA_DIR/outbox.jsonl, signs in and reads the profile.
    const email = 'newcomer@example.com';
    expect((await post(server, '/api/auth/send-code', { email })).status).toBe(200);
    const lines = readFileSync(join(server.dataDir, 'outbox.jsonl'), 'utf8').trim().split('\n');
    const code = /\b(\d{6})\b/.exec((JSON.parse(lines.at(-1)!) as { text: string }).text)![1]!;
    expect(
      (await post(server, '/api/auth/register', { email, password: STRONG_PASSWORD, username: 'newcomer', code }))
        .status,
    ).toBe(200);
    const login = await post(server, '/api/auth/login', { email, password: STRONG_PASSWORD });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const profile = await fetch(`http://127.0.0.1:${server.port}/api/user/profile`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'server-test-trace-1' },
    });
    expect(profile.status).toBe(200);
    expect(profile.headers.get('x-request-id')).toBe('server-test-trace-1');
    expect(await profile.json()).toMatchObject({ email, username: 'newcomer', role: 'user' });

    // Secrets were generated into the data folder, owner-only.
    const secrets = join(server.dataDir, 'secrets.json');
    expect(JSON.parse(readFileSync(secrets, 'utf8'))).toHaveProperty('jwtSecret');
    expect(statSync(secrets).mode & 0o777).toBe(0o600);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const logs = server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    expect(logs.some((l) => l.reqId === 'server-test-trace-1')).toBe(true);
    expect(logs.some((l) => l.msg === 'shutting down')).toBe(true);
    expect(server.stdout()).not.toContain(token);
    expect(server.stdout()).not.toContain(STRONG_PASSWORD);
  });

  it('on SIGTERM with a stream in flight: refuses new connections, cuts the stream at SHUTDOWN_DRAIN_SECONDS, bills it, exits 0', async () => {
    const fake = await FakeOpenAI.start();
    try {
      const admin = { email: 'admin@example.com', password: 'Adm1nPassw0rd' };
      const server = await startServer({
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-fake-upstream',
        SHUTDOWN_DRAIN_SECONDS: '1',
      });
      await waitUntilUp(server);
      const login = (await (await post(server, '/api/auth/login', admin)).json()) as {
        access_token: string;
        user: { id: string };
      };
      const bearer = { authorization: `Bearer ${login.access_token}` };
      expect(
        (await post(server, `/api/admin/users/${login.user.id}/credits`, { amount: 1000, reason: 'test' }, bearer))
          .status,
      ).toBe(200);
      const { key } = (await (await post(server, '/api/keys', { name: 'stream' }, bearer)).json()) as { key: string };
      const stream = await post(
        server,
        '/v1/chat/completions',
        {
          model: 'gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: 'Hello' }],
          fake_behavior: 'words=400; chunk-delay=50',
        },
        { authorization: `Bearer ${key}` },
      );
      expect(stream.status).toBe(200);
      const reading = stream.text().then(
        (text) => ({ text, cut: false }),
        () => ({ text: '', cut: true }),
      );
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await expect(fetch(`http://127.0.0.1:${server.port}/api/health`)).rejects.toThrow();
      expect(await server.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
      const answer = await reading;
      expect(answer.cut || !answer.text.includes('[DONE]'), 'the stream was cut, not finished').toBe(true);
      expect(fake.stats.streamsAborted, 'the upstream was stopped').toBe(1);
      expect(server.stdout()).toContain('cutting the calls still running');
      // Settled before the process ended: its usage record written, its hold closed.
      const database = await connectDatabase(`sqlite:${join(server.dataDir, 't.db')}`);
      try {
        const records = await database.db
          .selectFrom('usage_records')
          .select(['end_reason', 'output_tokens', 'credits'])
          .execute();
        expect(records).toEqual([
          {
            end_reason: 'shutdown',
            output_tokens: expect.any(Number) as number,
            credits: expect.any(Number) as number,
          },
        ]);
        expect(records[0]!.output_tokens).toBeGreaterThan(0);
        expect(
          await database.db.selectFrom('credit_holds').select('id').where('status', '=', 'open').execute(),
        ).toEqual([]);
      } finally {
        await database.destroy();
      }
    } finally {
      await fake.close();
    }
  });

  it('exits 0 on SIGINT too', async () => {
    const server = await startServer();
    expect((await waitUntilUp(server)).status).toBe(200);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it.each([
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['MAIL_TRANSPORT=fax', { MAIL_TRANSPORT: 'fax' }, 'MAIL_TRANSPORT must be one of log, smtp, resend'],
    ['production without secrets', { NODE_ENV: 'production' }, 'JWT_SECRET'],
    [
      'production with the default mail transport',
      { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), MASTER_KEY: '0'.repeat(64) },
      'MAIL_TRANSPORT=smtp',
    ],
    ['a weak ADMIN_PASSWORD', { ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'weakpassword1' }, 'ADMIN_PASSWORD'],
    [
      'an unreachable database',
      { DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:1/tollgate' },
      'DATABASE_URL=postgres://***@127.0.0.1:1/tollgate',
    ],
  ])('%s → exits non-zero with one line naming the problem', async (_label, env, expected) => {
    const server = await startServer(env);
    expect(await server.exited).not.toBe(0);
    expect(server.stderr()).toContain(expected);
    expect(server.stderr()).not.toMatch(/\n\s+at /);
    expect(server.stderr()).not.toContain('hunter2');
  });

  it('an unreachable Redis → exits non-zero naming REDIS_URL', async () => {
    const server = await startServer({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    expect(await server.exited).not.toBe(0);
    expect(server.stderr()).toContain('REDIS_URL');
  });

  it('a port already in use → exits non-zero naming PORT', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      const server = await startServer({ PORT: String(port) });
      expect(await server.exited).not.toBe(0);
      expect(server.stderr()).toContain(`PORT=${port}`);
      expect(server.stderr()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
