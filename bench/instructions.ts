/**
 * `npm run bench:instructions`: the CPU instructions each answered chat call costs, counted by
 * valgrind's callgrind, for the bare undici proxy and for Tollgate on SQLite (and, with
 * BENCH_BASELINE=<another checkout>, that checkout's Tollgate), whole and streamed, at 32 connections.
 * An instruction count does not depend on what else the machine is doing, as requests/s do; but
 * under load a JIT-compiled program's count still moves (see below), so read the windows, not one
 * figure.
 *
 * Each server runs under `valgrind --tool=callgrind --instr-atstart=no` (the load generator and the
 * fake upstream run outside it), with V8's `--single-threaded` so that its compilers and garbage
 * collector work on the main thread when the program reaches them, not when a helper thread happens
 * to be scheduled. Collection is switched on around each measured load only (callgrind_control
 * --zero, --instr=on … --dump, --instr=off), and a dump's total is divided by the calls answered.
 * The counts cover the whole process (compiler and collector included); the kernel's work is not in
 * them. INSTR_DUMPS=<folder> keeps the dumps, for callgrind_annotate.
 *
 * After INSTR_WARMUP (5,000) calls, windows of INSTR_CALLS (2,000) calls are measured until two in a
 * row agree within INSTR_STEADY (5 %), at most INSTR_MAX_WINDOWS (5); the figure is their mean, and
 * a target that never settles prints every window. What moves the count: V8 goes on compiling for
 * thousands of calls (the bare proxy's cost per call fell from 1.1 million instructions in a window
 * right after a 1,000-call warm-up to about 400 thousand ten windows later), and Tollgate's windows
 * still swing between about 0.9 and 3 million instructions a call after 15,000 calls: in the costly
 * ones TurboFan recompiles and a major collection runs (2.1 and 0.9 billion instructions of a 6
 * billion window), in the cheap ones neither. Two windows in a row can agree by chance before the
 * count has settled, so compare runs by their windows.
 *
 *   npm run bench:instructions
 *   BENCH_BASELINE=../tollgate-before INSTR_CALLS=2000 npm run bench:instructions
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startNode, type Started } from '#test/helpers/processes.ts';
import { load } from './load.ts';
import { startTollgate, type RunningTollgate } from './tollgate.ts';

const CALLS = Number(process.env.INSTR_CALLS ?? 2000);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 5000);
const MAX_WINDOWS = Number(process.env.INSTR_MAX_WINDOWS ?? 5);
/**
 * Tollgate's periodic work (hold sweep, channel probe, cache reconcile) runs by the clock, not by the
 * call: under valgrind, fifty times slower, it would weigh fifty times what it does in service. It is
 * put off for the run; the figure is a call's cost.
 */
const NO_PERIODIC_WORK = {
  HOLD_SWEEP_INTERVAL: '86400',
  CHANNEL_PROBE_INTERVAL: '86400',
  CACHE_RECONCILE_SECONDS: '0',
};
const STEADY = Number(process.env.INSTR_STEADY ?? 0.05);
/** The same for every server measured: compilation and collection on the main thread (see above). */
const NODE_FLAGS = ['--single-threaded'];
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BASELINE = process.env.BENCH_BASELINE;
/** Starting node under valgrind is slow: tsx compiles every file at a fiftieth of its usual speed. */
const START_TIMEOUT_MS = 15 * 60_000;

// valgrind names the pipes callgrind_control talks through after $HOST, which Tollgate reads as the
// address to listen on: every process of this run sees the same value, or the two would not meet.
process.env.HOST = '127.0.0.1';
/** INSTR_DUMPS=<folder> keeps callgrind's dumps there, to read with callgrind_annotate. */
const keptDumps = process.env.INSTR_DUMPS;
const outDir = keptDumps
  ? (mkdirSync(keptDumps, { recursive: true }), keptDumps)
  : mkdtempSync(join(tmpdir(), 'tollgate-callgrind-'));
const callgrind = [
  'valgrind',
  '--tool=callgrind',
  '--instr-atstart=no',
  `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`,
];
/** callgrind_control exits 0 even when it finds no such process: its output tells. */
async function control(pid: number, ...args: string[]): Promise<void> {
  const { stdout, stderr } = await promisify(execFile)('callgrind_control', [...args, String(pid)]);
  if (!stdout.includes('OK')) throw new Error(`callgrind_control ${args.join(' ')} ${pid}: ${stdout}${stderr}`);
}

/**
 * The total instruction count of the dump named `name` for `pid`, once callgrind has written it (it
 * may answer the dump command before the file is complete).
 */
async function dumpTotal(pid: number, name: string): Promise<number> {
  for (let waited = 0; waited < 120; waited++) {
    for (const file of readdirSync(outDir).filter((f) => f.startsWith(`callgrind.${pid}.`))) {
      const text = readFileSync(join(outDir, file), 'utf8');
      const total = /^totals:\s+(\d+)/m.exec(text);
      if (text.includes(`\ndesc: Trigger: dump ${name}\n`) && total) return Number(total[1]);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`callgrind wrote no dump "${name}" for ${pid} (files: ${readdirSync(outDir).join(', ')})`);
}

/** Whether the last two windows agree within STEADY. */
function steady(perCall: number[]): boolean {
  const [a, b] = perCall.slice(-2);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= STEADY * Math.min(a, b);
}

/** The steady figure (the mean of the last two windows) and how it was reached. */
function figure(perCall: number[]): string {
  const count = (n: number) => Math.round(n).toLocaleString('en-US');
  if (perCall.length < 2) return 'none answered';
  const [a, b] = perCall.slice(-2) as [number, number];
  const windows = `${perCall.length} windows: ${perCall.map(count).join(', ')}`;
  return steady(perCall) ? `${count((a + b) / 2)} (${windows})` : `not steady (${windows})`;
}

interface Target {
  name: string;
  url: string;
  key: string;
  server: Started;
  tollgate?: RunningTollgate;
}

const rows: string[] = [];
const billing: string[] = [];
const stoppers: Array<() => Promise<void>> = [];
try {
  const fakePort = await freePort();
  const fakeEnv = {
    FAKE_OPENAI_PORT: String(fakePort),
    FAKE_OPENAI_KEY: 'any',
    FAKE_DIFY_PORT: String(await freePort()),
  };
  const fake = await startNode('scripts/fakes.ts', fakeEnv, `http://127.0.0.1:${fakePort}/v1/models`);
  stoppers.push(() => fake.stop());
  const upstream = `http://127.0.0.1:${fakePort}`;

  const proxyPort = await freePort();
  const proxy = await startNode(
    'bench/bare-proxy.ts',
    { UPSTREAM: upstream, PORT: String(proxyPort) },
    `http://127.0.0.1:${proxyPort}/v1/models`,
    {
      wrapper: callgrind,
      flags: NODE_FLAGS,
      timeoutMs: START_TIMEOUT_MS,
    },
  );
  stoppers.push(() => proxy.stop());
  const targets: Target[] = [
    { name: 'bare undici proxy', url: `http://127.0.0.1:${proxyPort}`, key: 'sk-direct', server: proxy },
  ];
  for (const [label, tree] of [...(BASELINE ? [[' (baseline)', BASELINE] as const] : []), ['', undefined] as const]) {
    const tollgate = await startTollgate({
      port: await freePort(),
      upstream,
      wrapper: callgrind,
      flags: NODE_FLAGS,
      env: NO_PERIODIC_WORK,
      timeoutMs: START_TIMEOUT_MS,
      ...(tree ? { tree } : {}),
    });
    stoppers.push(() => tollgate.stop());
    targets.push({
      name: `Tollgate${label}, SQLite`,
      url: tollgate.url,
      key: tollgate.apiKey,
      server: tollgate,
      tollgate,
    });
  }

  for (const mode of (process.env.BENCH_MODES ?? 'json,stream').split(',')) {
    const stream = mode === 'stream';
    for (const target of targets) {
      const pid = target.server.child.pid!;
      await load(target.url, target.key, stream, CONNECTIONS, { amount: WARMUP });
      const before = target.tollgate ? await target.tollgate.calls() : 0;
      const perCall: number[] = [];
      let answered = 0;
      let errors = 0;
      for (let window = 1; window <= MAX_WINDOWS && !steady(perCall); window++) {
        const dump = `${mode}-${window}`;
        await control(pid, '--zero');
        await control(pid, '--instr=on');
        const measured = await load(target.url, target.key, stream, CONNECTIONS, { amount: CALLS });
        await control(pid, `--dump=${dump}`);
        await control(pid, '--instr=off');
        answered += measured.ok;
        errors += measured.errors;
        if (measured.ok > 0) perCall.push((await dumpTotal(pid, dump)) / measured.ok);
      }
      rows.push(`| ${target.name} | ${mode} | ${CONNECTIONS} | ${answered} | ${figure(perCall)} | ${errors} |`);
      if (target.tollgate) {
        const recorded = (await target.tollgate.calls()) - before;
        billing.push(
          `${target.name}, ${mode}: ${answered} answered, ${recorded} usage records${recorded === answered ? '' : '  ← MISMATCH'}`,
        );
      }
    }
  }
} finally {
  for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  if (!keptDumps) rmSync(outDir, { recursive: true, force: true });
}

console.log(
  [
    `Instructions per answered call (valgrind callgrind, collection on around the load only): after ${WARMUP} calls of warm-up, windows of ${CALLS} calls until two in a row agree within ${STEADY * 100} %; the figure is their mean`,
    '',
    '| target | mode | conns | calls answered | instructions per call | errors |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Billing check (every answered call leaves one usage record):',
    ...billing,
  ].join('\n'),
);
if (billing.some((line) => line.includes('MISMATCH'))) process.exitCode = 1;
