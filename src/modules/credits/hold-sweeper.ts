import type { App } from '#core/http/route-config.ts';
import type { CreditsService } from './credits.service.ts';

/**
 * Frees holds past their deadline once at start (a crash may have left some) and then every
 * `everyMs`, so no credits stay stranded. Safe with several instances: each hold closes once.
 */
export function startHoldSweeper(app: App, credits: CreditsService, everyMs: number): void {
  let running: Promise<void> | undefined;
  const sweep = () => {
    running ??= credits
      .sweepExpiredHolds()
      .then((expired) => {
        if (expired > 0) app.log.warn({ expired }, 'freed expired credit holds');
      })
      .catch((error: unknown) => app.log.error({ err: error }, 'hold sweep failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  app.addHook('onReady', () => sweep());
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}
