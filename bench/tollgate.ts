import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, type Started } from '#test/helpers/processes.ts';

const ADMIN = { email: 'bench-admin@example.com', password: 'Bench1Password' };

async function json<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} → ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export interface RunningTollgate extends Started {
  url: string;
  apiKey: string;
  /** Metered calls recorded so far (usage records of the bench user). */
  calls(): Promise<number>;
}

/**
 * Starts Tollgate as `npm start` would (a process of its own), on `databaseUrl` and optionally Redis,
 * with its first channel on the fake upstream; signs the admin in, funds it and creates an API key.
 */
export async function startTollgate(options: {
  port: number;
  upstream: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Another checkout of Tollgate to run instead of this one (BENCH_BASELINE: before/after in one run). */
  tree?: string;
  /** A program to run Tollgate's node under (bench:instructions: valgrind), and how long start-up may take then. */
  wrapper?: string[];
  timeoutMs?: number;
  /** Flags for Tollgate's node, before BENCH_TOLLGATE_FLAGS's. */
  flags?: string[];
  /** Settings of the run's own, over the bench's. */
  env?: Record<string, string>;
  /** Whether the bench's user holds its plan (default: unless BENCH_PLAN=off; see givePlan). */
  plan?: boolean;
}): Promise<RunningTollgate> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const url = `http://127.0.0.1:${options.port}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    MAIL_TRANSPORT: 'log', // no mail is sent in a bench; production refuses the default without it
    PORT: String(options.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${join(dataDir, 'bench.db')}`,
    JWT_SECRET: 'bench-jwt-secret-bench-jwt-secret-0123456789',
    MASTER_KEY: 'ab'.repeat(32),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    OPENAI_BASE_URL: `${options.upstream}/v1`,
    OPENAI_API_KEY: 'sk-bench-upstream',
    // The rate limits a user has by default (requests per minute, concurrent requests) are counted on
    // every call, as for any user; set high enough never to refuse one. (Admins are unlimited by default.)
    RATE_LIMIT_ADMIN_RPM: '1000000000',
    RATE_LIMIT_ADMIN_CONCURRENCY: '100000',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_PREFIX: `tollgate-bench:${options.port}:` } : {}),
    ...options.env,
  };
  // BENCH_TOLLGATE_FLAGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, go to Tollgate's node only.
  const flags = [...(options.flags ?? []), ...(process.env.BENCH_TOLLGATE_FLAGS ?? '').split(' ').filter(Boolean)];
  const started = await startNode('src/main.ts', env, `${url}/api/health`, {
    cwd: options.tree,
    flags,
    wrapper: options.wrapper,
    timeoutMs: options.timeoutMs,
  });
  const login = await json<{ access_token: string; user: { id: string } }>(`${url}/api/auth/login`, {
    method: 'POST',
    body: JSON.stringify(ADMIN),
  });
  const auth = { authorization: `Bearer ${login.access_token}` };
  await json(`${url}/api/admin/users/${login.user.id}/credits`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ amount: 1_000_000_000, reason: 'benchmark funds' }),
  });
  if (options.plan ?? process.env.BENCH_PLAN !== 'off') await givePlan(url, auth, login.user.id);
  const key = await json<{ key: string; apiKey: { id: string } }>(`${url}/api/keys`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ name: 'bench' }),
  });
  return {
    ...started,
    url,
    apiKey: key.key,
    async calls() {
      const logs = await json<{ total: number }>(`${url}/api/usage/logs?limit=1`, { method: 'GET', headers: auth });
      return logs.total;
    },
  };
}

/**
 * The bench's user holds a plan with allowances on requests, tokens and credits per day (never reached),
 * so every call pays for the plan check as a subscriber's does (docs/plans.md). A tree without plans
 * (BENCH_BASELINE before them) answers 404 and runs without. BENCH_PLAN=off runs every tree without,
 * to compare like with like against a tree from before plans; BENCH_BASELINE_PLAN=off only the
 * baseline's, so `BENCH_BASELINE=. BENCH_BASELINE_PLAN=off` measures the plan check alone.
 */
async function givePlan(url: string, auth: Record<string, string>, userId: string): Promise<void> {
  const headers = { 'content-type': 'application/json', ...auth };
  const created = await fetch(`${url}/api/admin/plans`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      code: 'bench',
      name: 'Bench',
      level: 1,
      price: 0,
      durationDays: null,
      entitlements: {
        allowances: [
          { metric: 'requests', period: 'day', limit: 1_000_000_000_000 },
          { metric: 'tokens', period: 'day', limit: 1_000_000_000_000 },
          { metric: 'credits', period: 'month', limit: 1_000_000_000_000 },
        ],
      },
    }),
  });
  if (created.status === 404) return;
  if (!created.ok) throw new Error(`creating the bench plan → ${created.status} ${await created.text()}`);
  const plan = (await created.json()) as { id: string };
  const set = await fetch(`${url}/api/admin/users/${userId}/plan`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ planId: plan.id }),
  });
  if (!set.ok) throw new Error(`giving the bench user its plan → ${set.status} ${await set.text()}`);
}
