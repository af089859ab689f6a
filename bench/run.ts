/**
 * `npm run bench`: the same chat calls, in one run, straight to the fake upstream, through a bare
 * undici proxy, and through Tollgate (SQLite; and PostgreSQL + Redis when BENCH_POSTGRES_URL /
 * TEST_POSTGRES_URL and TEST_REDIS_URL are set), streamed and not, at concurrency 1 and 32.
 * Prints requests/s, p50/p99 latency, the ratio to the bare proxy, Tollgate's peak RSS, and checks
 * that every answered Tollgate call left exactly one usage record (was billed).
 *
 * BENCH_BASELINE=<another checkout> also runs that tree's Tollgate (rows marked "baseline"), load by
 * load next to this one: a before/after comparison under the same machine noise.
 *
 * Each load of BENCH_SECONDS is cut into BENCH_ROUNDS slices (default 3), the targets taking turns
 * slice by slice, so a shift in the machine's other work falls on every target alike instead of on
 * whichever ran then. A row adds its slices up: requests/s, the p50 and p99 of every answered call's
 * latency (to the microsecond), and the CPU per answered call, over all of them.
 */
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { freePort, startNode, type Started } from '#test/helpers/processes.ts';
import { load, percentile, type Measured } from './load.ts';
import { startTollgate, type RunningTollgate } from './tollgate.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Math.max(1, Math.round(Number(process.env.BENCH_ROUNDS ?? 3)));
const CONCURRENCY = (process.env.BENCH_CONNECTIONS ?? '1,32').split(',').map(Number);
/** BENCH_ONLY=postgres runs just the targets whose name contains it (the bare proxy always runs). */
const ONLY = process.env.BENCH_ONLY?.toLowerCase();
const BASELINE = process.env.BENCH_BASELINE;
/** BENCH_BASELINE_PLAN=off: the baseline's user holds no plan (with BENCH_BASELINE=.: the plan check alone). */
const baselinePlan = process.env.BENCH_BASELINE_PLAN !== 'off' && process.env.BENCH_PLAN !== 'off';

interface Row extends Measured {
  target: string;
  mode: string;
  connections: number;
  /** CPU µs the proxy or Tollgate process spent per answered call (empty for the fake itself). */
  cpuUs?: number;
}

async function freshPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tollgate_bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The slices of one target's load as one: requests/s and latencies over all of them. */
function combine(slices: Measured[]): Measured {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  return {
    rps: Math.round(slices.reduce((sum, s) => sum + s.rps, 0) / slices.length),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors: slices.reduce((sum, s) => sum + s.errors, 0),
    errorKinds: slices.reduce<Record<string, number>>((all, s) => {
      for (const [kind, count] of Object.entries(s.errorKinds)) all[kind] = (all[kind] ?? 0) + count;
      return all;
    }, {}),
    ok: slices.reduce((sum, s) => sum + s.ok, 0),
    latencies,
  };
}

/** The usage-record count once calls cut off by the end of a load have finished (it stops moving). */
async function settledCalls(tollgate: RunningTollgate): Promise<number> {
  let last = await tollgate.calls();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await tollgate.calls();
    if (now === last) return now;
    last = now;
  }
}

const rows: Row[] = [];
const memory: string[] = [];
const billing: string[] = [];
const stoppers: Array<() => Promise<void>> = [];

try {
  const fakePort = await freePort();
  // (The fakes script starts the fake Dify too: on a free port, not its fixed one, which may be taken.)
  const fakeEnv = {
    FAKE_OPENAI_PORT: String(fakePort),
    FAKE_OPENAI_KEY: 'any',
    FAKE_DIFY_PORT: String(await freePort()),
  };
  const fake = await startNode('scripts/fakes.ts', fakeEnv, `http://127.0.0.1:${fakePort}/v1/models`);
  stoppers.push(() => fake.stop());
  const upstream = `http://127.0.0.1:${fakePort}`;

  const proxyPort = await freePort();
  const proxy: Started = await startNode(
    'bench/bare-proxy.ts',
    { UPSTREAM: upstream, PORT: String(proxyPort) },
    `http://127.0.0.1:${proxyPort}/v1/models`,
  );
  stoppers.push(() => proxy.stop());

  const targets: Array<{ name: string; url: string; key: string; tollgate?: RunningTollgate; proxy?: Started }> = [
    ...(ONLY ? [] : [{ name: 'direct (fake upstream)', url: upstream, key: 'sk-direct' }]),
    { name: 'bare undici proxy', url: `http://127.0.0.1:${proxyPort}`, key: 'sk-direct', proxy },
  ];
  const trees: Array<{ label: string; tree?: string }> = [
    ...(BASELINE ? [{ label: ' (baseline)', tree: BASELINE }] : []),
    { label: '' },
  ];
  if (!ONLY || 'tollgate, sqlite'.includes(ONLY)) {
    for (const { label, tree } of trees) {
      const sqlite = await startTollgate({
        port: await freePort(),
        upstream,
        ...(tree ? { tree, plan: baselinePlan } : {}),
      });
      stoppers.push(() => sqlite.stop());
      targets.push({ name: `Tollgate${label}, SQLite`, url: sqlite.url, key: sqlite.apiKey, tollgate: sqlite });
    }
  }

  const pgServer = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL;
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL;
  if (pgServer && redisUrl && (!ONLY || 'tollgate, postgresql + redis'.includes(ONLY))) {
    for (const { label, tree } of trees) {
      const database = await freshPostgresDatabase(pgServer);
      stoppers.push(() => database.drop());
      const pgTollgate = await startTollgate({
        port: await freePort(),
        upstream,
        databaseUrl: database.url,
        redisUrl,
        ...(tree ? { tree, plan: baselinePlan } : {}),
      });
      stoppers.unshift(() => pgTollgate.stop());
      targets.push({
        name: `Tollgate${label}, PostgreSQL + Redis`,
        url: pgTollgate.url,
        key: pgTollgate.apiKey,
        tollgate: pgTollgate,
      });
    }
  }

  for (const stream of (process.env.BENCH_MODES ?? 'json,stream').split(',').map((m) => m === 'stream')) {
    for (const connections of CONCURRENCY) {
      for (const target of targets)
        await load(target.url, target.key, stream, Math.min(connections, 4), { seconds: DURATION / ROUNDS }); // warm-up
      const runs = targets.map((target) => ({
        target,
        serving: target.tollgate ?? target.proxy,
        slices: [] as Measured[],
        cpuMs: 0,
        before: 0,
      }));
      for (const run of runs) run.before = run.target.tollgate ? await settledCalls(run.target.tollgate) : 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const run of runs) {
          const cpuBefore = run.serving?.cpuMs() ?? 0;
          run.slices.push(
            await load(run.target.url, run.target.key, stream, connections, { seconds: DURATION / ROUNDS }),
          );
          run.cpuMs += (run.serving?.cpuMs() ?? 0) - cpuBefore;
        }
      }
      for (const { target, serving, slices, cpuMs, before } of runs) {
        const measured = combine(slices);
        const cpuUs = serving && measured.ok > 0 ? Math.round((cpuMs * 1000) / measured.ok) : undefined;
        rows.push({
          target: target.name,
          mode: stream ? 'stream' : 'json',
          connections,
          ...measured,
          latencies: [],
          ...(cpuUs === undefined ? {} : { cpuUs }),
        });
        if (target.tollgate) {
          const recorded = (await settledCalls(target.tollgate)) - before;
          // Calls still in flight when a slice stops are answered (and billed) after it counts: at most one per connection and slice.
          const fine = recorded >= measured.ok && recorded <= measured.ok + connections * ROUNDS;
          billing.push(
            `${target.name}, ${stream ? 'stream' : 'json'}, c=${connections}: ${measured.ok} answered, ${recorded} usage records${fine ? '' : '  ← MISMATCH'}`,
          );
        }
      }
    }
  }
  for (const target of targets)
    if (target.tollgate ?? target.proxy)
      memory.push(`${target.name}: peak RSS ${(target.tollgate ?? target.proxy)!.peakRssMiB()} MiB`);
} finally {
  for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
}

const bare = (mode: string, connections: number) =>
  rows.find((r) => r.target === 'bare undici proxy' && r.mode === mode && r.connections === connections);
const lines = [
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${DURATION}s per load, in ${ROUNDS} slices taken in turns`,
  '',
  '| target | mode | conns | req/s | p50 ms | p99 ms | vs bare proxy | +p50 ms | CPU µs/call | errors |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const base = bare(r.mode, r.connections);
    const ratio = base && base.rps > 0 ? `${Math.round((r.rps / base.rps) * 100)}%` : '';
    const added = base ? (r.p50 - base.p50).toFixed(2) : '';
    return `| ${r.target} | ${r.mode} | ${r.connections} | ${r.rps} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${ratio} | ${added} | ${r.cpuUs ?? ''} | ${r.errors}${
      r.errors > 0
        ? ` (${Object.entries(r.errorKinds)
            .map(([kind, count]) => `${kind}×${count}`)
            .join(', ')})`
        : ''
    } |`;
  }),
  '',
  ...memory,
  '',
  'Billing check (every answered call leaves one usage record; calls cut off at the end of a slice add at most one per connection and slice):',
  ...billing,
];
console.log(lines.join('\n'));
if (billing.some((line) => line.includes('MISMATCH'))) process.exitCode = 1;
