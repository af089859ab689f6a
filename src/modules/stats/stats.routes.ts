import { Type } from 'typebox';
import type { App } from '#core/http/route-config.ts';
import type { CheckinService } from '#modules/checkin/checkin.service.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import { principalOf } from '#core/http/principal.ts';

const StatsResponse = Type.Object({
  totalCredits: Type.Integer({ description: 'The balance' }),
  totalApiCalls: Type.Integer({ description: 'Metered calls made (the gateway records them)' }),
  totalCheckins: Type.Integer(),
  consecutiveCheckins: Type.Integer({ description: 'The current streak (0 once a day is missed)' }),
});

/** Seed 001 §5.2. */
export function registerStatsRoutes(
  app: App,
  deps: { credits: CreditsService; checkin: CheckinService; usage: UsageService },
): void {
  app.get(
    '/api/user/stats',
    {
      config: { access: 'user' },
      schema: {
        tags: ['user'],
        security: [{ bearer: [] }],
        summary: 'Credits, calls and check-ins at a glance',
        response: { 200: StatsResponse },
      },
    },
    async (request) => {
      const userId = principalOf(request).userId;
      const [account, totalApiCalls, totalCheckins, status] = await Promise.all([
        deps.credits.account(userId),
        deps.usage.calls(userId),
        deps.checkin.totalCheckins(userId),
        deps.checkin.status(userId),
      ]);
      return {
        totalCredits: account.balance,
        totalApiCalls,
        totalCheckins,
        consecutiveCheckins: status.consecutiveDays,
      };
    },
  );
}
