/**
 * `npm run bench:instructions`: the CPU instructions each answered chat call costs, counted by
 * valgrind's callgrind, for the bare undici proxy and for Tollgate on SQLite (and, with
 * BENCH_BASELINE=<another checkout>, that checkout's Tollgate), whole and streamed, at 32 connections.
 * Unlike requests/s on a shared machine, an instruction count repeats from run to run: the same
 * program doing the same work executes the same instructions whatever else the machine is doing.
 *
 * Each server runs under `valgrind --tool=callgrind --instr-atstart=no` (the load generator and the
 * fake upstream run outside it), with V8's `--single-threaded` so that its compilers and garbage
 * collector work on the main thread when the program reaches them, not when a helper thread happens
 * to be scheduled. A warm-up load first lets V8 compile the hot paths; then collection is switched on
 * around each measured load only (callgrind_control --zero, --instr=on … --dump, --instr=off), and a
 * dump's total is divided by the calls answered. INSTR_WINDOWS loads of INSTR_CALLS calls are measured
 * one after the other and the median is the figure, with the spread beside it: a major garbage
 * collection falls into one window and not the next. The counts cover the whole process (collector
 * included); the kernel's work is not in them.
 *
 *   npm run bench:instructions
 *   BENCH_BASELINE=../tollgate-before INSTR_CALLS=2000 npm run bench:instructions
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startNode, type Started } from '#test/helpers/processes.ts';
import { load, percentile } from './load.ts';
import { startTollgate, type RunningTollgate } from './tollgate.ts';

const CALLS = Number(process.env.INSTR_CALLS ?? 1000);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 2000);
const WINDOWS = Number(process.env.INSTR_WINDOWS ?? 3);
/** The same for every server measured: compilation and collection on the main thread (see above). */
const NODE_FLAGS = ['--single-threaded'];
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BASELINE = process.env.BENCH_BASELINE;
/** Starting node under valgrind is slow: tsx compiles every file at a fiftieth of its usual speed. */
const START_TIMEOUT_MS = 15 * 60_000;

// valgrind names the pipes callgrind_control talks through after $HOST, which Tollgate reads as the
// address to listen on: every process of this run sees the same value, or the two would not meet.
process.env.HOST = '127.0.0.1';
const outDir = mkdtempSync(join(tmpdir(), 'tollgate-callgrind-'));
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

/** "median (min–max)" of the windows' instructions per call. */
function spread(perCall: number[]): string {
  if (perCall.length === 0) return 'none answered';
  const sorted = [...perCall].sort((a, b) => a - b);
  const figure = (n: number) => Math.round(n).toLocaleString('en-US');
  const median = percentile(sorted, 0.5);
  return sorted.length === 1 ? figure(median) : `${figure(median)} (${figure(sorted[0]!)}–${figure(sorted.at(-1)!)})`;
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
      for (let window = 1; window <= WINDOWS; window++) {
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
      rows.push(`| ${target.name} | ${mode} | ${CONNECTIONS} | ${answered} | ${spread(perCall)} | ${errors} |`);
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
  rmSync(outDir, { recursive: true, force: true });
}

console.log(
  [
    `Instructions per answered call (valgrind callgrind, collection on around the load only); ${WARMUP} calls of warm-up, then ${WINDOWS} windows of ${CALLS} calls: median (min–max)`,
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
