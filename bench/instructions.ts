/**
 * `npm run bench:instructions`: the CPU instructions each answered chat call costs, counted by
 * valgrind's callgrind, for the bare undici proxy and for Tollgate on SQLite (and, with
 * BENCH_BASELINE=<another checkout>, that checkout's Tollgate), whole and streamed, at 32 connections.
 * An instruction count does not depend on what else the machine is doing, as requests/s do.
 *
 * Each server runs under `valgrind --tool=callgrind --instr-atstart=no` (the load generator and the
 * fake upstream run outside it), with V8's `--single-threaded` so that its compilers and garbage
 * collector work on the main thread when the program reaches them, not when a helper thread happens
 * to be scheduled. Collection is switched on around each measured load only (callgrind_control
 * --zero, --instr=on … --dump, --instr=off), and a dump's count is divided by the calls answered.
 * The kernel's work is not in it. INSTR_DUMPS=<folder> keeps the dumps, for callgrind_annotate.
 *
 * The figure is the call's own work: the whole process's count less what V8's garbage collector and
 * compilers executed (bench/callgrind-split.ts). Those two come in bursts that a window of calls holds
 * or not (TurboFan recompiling, a major collection: 2.1 and 0.9 billion instructions of a 6 billion
 * window in one Tollgate window, none in the next), which swung the whole count of Tollgate's windows
 * between 0.9 and 3 million instructions a call; the own work is what each call does every time.
 * Both are printed for every window, with the collector's and compilers' share beside them.
 *
 * After INSTR_WARMUP (5,000) calls, windows of INSTR_CALLS (2,000) calls are measured until the own
 * work of two in a row agrees within INSTR_STEADY (5 %), at most INSTR_MAX_WINDOWS (5); the figure is
 * their mean, and a target that never settles says so. The servers start side by side.
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
import { splitDump, type Split } from './callgrind-split.ts';
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
/**
 * The same for every server measured: compilation and collection on the main thread (see above).
 * INSTR_NODE_FLAGS adds V8 flags (e.g. `--max-opt=1 --always-sparkplug`: every function compiled once,
 * to the baseline tier, and never again).
 */
const NODE_FLAGS = ['--single-threaded', ...(process.env.INSTR_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
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
 * The instruction count of the dump named `name` for `pid`, once callgrind has written it (it
 * may answer the dump command before the file is complete).
 */
async function dumpSplit(pid: number, name: string): Promise<Split> {
  for (let waited = 0; waited < 120; waited++) {
    for (const file of readdirSync(outDir).filter((f) => f.startsWith(`callgrind.${pid}.`))) {
      const text = readFileSync(join(outDir, file), 'utf8');
      const total = /^totals:\s+(\d+)/m.exec(text);
      if (text.includes(`\ndesc: Trigger: dump ${name}\n`) && total) return splitDump(join(outDir, file));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`callgrind wrote no dump "${name}" for ${pid} (files: ${readdirSync(outDir).join(', ')})`);
}

/** Whether the last two windows' own work agrees within STEADY. */
function steady(windows: Split[]): boolean {
  const [a, b] = windows.slice(-2).map((w) => w.own);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= STEADY * Math.min(a, b);
}

const thousands = (n: number) => Math.round(n / 1000).toLocaleString('en-US');

/** The row's figures: the own work per call (the mean of the last two windows) and every window, own / whole process. */
function figures(windows: Split[]): string {
  if (windows.length < 2) return 'none answered | | |';
  const [a, b] = windows.slice(-2) as [Split, Split];
  const own = steady(windows) ? Math.round((a.own + b.own) / 2).toLocaleString('en-US') : 'not steady';
  const each = windows.map((w) => `${thousands(w.own)} / ${thousands(w.total)}`).join(', ');
  const v8 = windows.map((w) => `${thousands(w.gc)} + ${thousands(w.compiler)}`).join(', ');
  return `${own} | ${each} | ${v8}`;
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

  // The servers start side by side: under valgrind each takes minutes (tsx compiles every file).
  const proxyPort = await freePort();
  const trees = [...(BASELINE ? [[' (baseline)', BASELINE] as const] : []), ['', undefined] as const];
  const starting = [
    startNode(
      'bench/bare-proxy.ts',
      { UPSTREAM: upstream, PORT: String(proxyPort) },
      `http://127.0.0.1:${proxyPort}/v1/models`,
      { wrapper: callgrind, flags: NODE_FLAGS, timeoutMs: START_TIMEOUT_MS },
    ).then((proxy): Target => {
      stoppers.push(() => proxy.stop());
      return { name: 'bare undici proxy', url: `http://127.0.0.1:${proxyPort}`, key: 'sk-direct', server: proxy };
    }),
    ...trees.map(async ([label, tree]): Promise<Target> => {
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
      return { name: `Tollgate${label}, SQLite`, url: tollgate.url, key: tollgate.apiKey, server: tollgate, tollgate };
    }),
  ];
  // Every start is waited for (each one that started is stopped at the end) before one failing ends the run.
  const started = await Promise.allSettled(starting);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const targets = started.map((result) => (result as PromiseFulfilledResult<Target>).value);

  for (const mode of (process.env.BENCH_MODES ?? 'json,stream').split(',')) {
    const stream = mode === 'stream';
    for (const target of targets) {
      const pid = target.server.child.pid!;
      await load(target.url, target.key, stream, CONNECTIONS, { amount: WARMUP });
      const before = target.tollgate ? await target.tollgate.calls() : 0;
      const windows: Split[] = [];
      let answered = 0;
      let errors = 0;
      for (let window = 1; window <= MAX_WINDOWS && !steady(windows); window++) {
        const dump = `${mode}-${window}`;
        await control(pid, '--zero');
        await control(pid, '--instr=on');
        const measured = await load(target.url, target.key, stream, CONNECTIONS, { amount: CALLS });
        await control(pid, `--dump=${dump}`);
        await control(pid, '--instr=off');
        answered += measured.ok;
        errors += measured.errors;
        if (measured.ok > 0) {
          const split = await dumpSplit(pid, dump);
          windows.push({
            total: split.total / measured.ok,
            gc: split.gc / measured.ok,
            compiler: split.compiler / measured.ok,
            own: split.own / measured.ok,
          });
        }
      }
      rows.push(`| ${target.name} | ${mode} | ${CONNECTIONS} | ${answered} | ${figures(windows)} | ${errors} |`);
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
    `Instructions per answered call (valgrind callgrind, collection on around the load only): after ${WARMUP} calls of warm-up, windows of ${CALLS} calls until the own work (without garbage collection and compiling) of two in a row agrees within ${STEADY * 100} %; the figure is their mean`,
    '',
    '| target | mode | conns | calls answered | own instructions per call | each window, own / whole process (thousands per call) | each window, GC + compiling (thousands per call) | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Billing check (every answered call leaves one usage record):',
    ...billing,
  ].join('\n'),
);
if (billing.some((line) => line.includes('MISMATCH'))) process.exitCode = 1;
