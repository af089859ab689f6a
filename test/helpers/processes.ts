import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Started {
  child: ChildProcess;
  /** Peak resident memory so far (VmHWM), MiB. */
  peakRssMiB(): number;
  /** CPU time used so far (user + system), ms; steadier than throughput on a busy machine. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/**
 * Waits until `url` answers (polling; with a status `ready` accepts, by default any), or throws when
 * `child` exits first or `timeoutMs` passes; `output()` gives what the process wrote, for the error.
 */
export async function untilAnswers(
  child: ChildProcess,
  url: string,
  output: () => string,
  options: { timeoutMs?: number; ready?: (status: number) => boolean } = {},
): Promise<void> {
  const { timeoutMs = 60_000, ready = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the process for ${url} exited early (${child.exitCode}):\n${output().slice(-2000)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (ready(response.status)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the process for ${url} did not answer:\n${output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/**
 * Starts `node [flags] --import tsx <script>` (in `cwd`, default this tree) and waits until `readyUrl`
 * answers. `wrapper` runs node under another program (e.g. `['valgrind', '--tool=callgrind']`).
 */
export async function startNode(
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  options: { cwd?: string; flags?: string[]; wrapper?: string[]; timeoutMs?: number } = {},
): Promise<Started> {
  const [command, ...wrapperArgs] = [...(options.wrapper ?? []), process.execPath];
  const child = spawn(command, [...wrapperArgs, ...(options.flags ?? []), '--import', 'tsx', script], {
    cwd: options.cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await untilAnswers(
      child,
      readyUrl,
      () => stderr,
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    peakRssMiB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kib / 1024);
    },
    cpuMs() {
      // /proc/<pid>/stat: utime and stime (fields 14 and 15, in clock ticks of 10 ms), after the command's ")".
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
