import type { App } from './route-config.ts';

/** The work an app lets finish when it closes: calls that can be cut, and a promise of their end. */
export interface RunningWork {
  readonly count: number;
  /** Ends every call still running, each billed for what it produced. */
  cutAll(): void;
  /** Resolves when no call is running. */
  settled(): Promise<void>;
}

const IDLE_SWEEP_MS = 100;

/**
 * A graceful close (SIGTERM, or `app.close()`): Fastify stops listening and answers 503 to requests
 * on connections already open; the calls running get `drainMs` to finish, each connection closed as
 * soon as its answer is complete; then the calls still running are cut (as if their clients had left,
 * so each is billed for what it produced) and every other connection is closed. The app's other
 * resources (the database, Redis) close only once every call has written its bill.
 */
export function registerGracefulClose(app: App, options: { drainMs: number; work: RunningWork }): void {
  let sweep: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    // Node closes the connections idle when the server closes, not those that become idle later.
    sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
    deadline = setTimeout(() => {
      if (options.work.count > 0)
        app.log.warn({ calls: options.work.count }, 'shutdown: drain time over, cutting the calls still running');
      options.work.cutAll();
      app.server.closeAllConnections();
    }, options.drainMs);
    done();
  });
  app.addHook('onClose', async () => {
    await options.work.settled();
    clearInterval(sweep);
    clearTimeout(deadline);
  });
}
