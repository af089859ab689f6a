import { spawn, type ChildProcess } from 'node:child_process';
import { untilAnswers } from '#test/helpers/processes.ts';

export { freePort } from '#test/helpers/processes.ts';

/**
 * One Tollgate as `npm start` runs it: `node --import tsx src/main.ts`, a process of its own, so a
 * SIGKILL is a real crash. Everything it writes (pino's JSON lines on stdout, anything on stderr) is
 * kept, across restarts, for the secret scan.
 */
export class TollgateProcess {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];
  /** How many times a process was started for this slot. */
  starts = 0;
  /** Every exit of a process of this slot; `expected` when the suite stopped it. */
  readonly exits: Array<{
    code: number | null;
    signal: NodeJS.Signals | null;
    at: number;
    expected: boolean;
    tail: string;
  }> = [];
  private stopping = false;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything every process of this slot wrote so far. */
  logs(): string {
    return this.output.join('');
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`instance on ${this.port} is already running`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts += 1;
    child.once('exit', (code, signal) => {
      const exit = { code, signal, at: Date.now(), expected: this.stopping, tail: this.logs().slice(-4000) };
      this.exits.push(exit);
      // What the process wrote last (a crash's stack on stderr) may arrive after 'exit': take the tail again at 'close'.
      child.once('close', () => (exit.tail = this.logs().slice(-4000)));
    });
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    await untilAnswers(child, `${this.url}/api/health`, () => this.logs(), {
      timeoutMs,
      ready: (status) => status === 200,
    });
  }

  /** Sends `signal` and waits for the process to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.stopping = true;
    child.kill(signal);
    // A SIGTERM that hangs (a stuck shutdown) must not hang the suite: finish the job.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    this.stopping = false;
  }

  /** Exits the suite did not cause (a crash), with the end of what the process wrote before it. */
  unexpectedExits(): Array<{ code: number | null; signal: NodeJS.Signals | null; at: number; tail: string }> {
    return this.exits.filter((exit) => !exit.expected);
  }
}
