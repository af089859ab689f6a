import type { FastifyInstance } from 'fastify';

/**
 * Runs `task` every `everyMs` (and once when the app is ready, with `atStart`), one run at a time,
 * logging failures instead of throwing; stops, waiting for a run in progress, when the app closes.
 */
export function runPeriodically(
  app: FastifyInstance,
  options: { name: string; everyMs: number; atStart?: boolean },
  task: () => Promise<unknown>,
): void {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= task()
      .then(() => undefined)
      .catch((error: unknown) => app.log.error({ err: error, task: options.name }, 'periodic task failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void run(), options.everyMs);
  timer.unref();
  if (options.atStart) app.addHook('onReady', () => run());
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
