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

/** Starts `node [flags] --import tsx <script>` (in `cwd`, default this tree) and waits until `readyUrl` answers. */
export async function startNode(
  script: string,
  env: Record<string, string>,
  readyUrl: string,
  options: { cwd?: string; flags?: string[] } = {},
): Promise<Started> {
  const child = spawn(process.execPath, [...(options.flags ?? []), '--import', 'tsx', script], {
    cwd: options.cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited early (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(readyUrl);
      await response.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${script} did not come up: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
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
