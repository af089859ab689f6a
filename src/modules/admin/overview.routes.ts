import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { Paged } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { LogItem, LogsQuery, logsPage } from '#modules/usage/usage.routes.ts';
import type { UsageService } from '#modules/usage/usage.service.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import type { OverviewService } from './overview.service.ts';

const Count = (description: string) => Type.Integer({ minimum: 0, description });
const Ms = (description: string) => Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description });

const DayFigures = {
  newUsers: Count('Accounts created (deleted ones not counted)'),
  calls: Count('Metered calls'),
  errors: Count('Calls that failed (status `error`: the upstream failed or refused)'),
  creditsGranted: Count('Credits added: bonuses, check-ins, redeem codes, plans, recharges, admin additions'),
  creditsSpent: Count('Credits charged for calls'),
  latencyAvgMs: Ms('Mean latency of the calls; null without calls'),
  latencyP95Ms: Ms('95th percentile (nearest rank) of the latencies; null without calls'),
};

const Money = Type.Object({
  currency: Type.String(),
  received: Type.Integer({ description: 'Minor units (fen, cents) paid' }),
  refunded: Type.Integer({ description: 'Minor units refunded (succeeded refunds)' }),
  net: Type.Integer({ description: 'received − refunded' }),
});

const OverviewView = Type.Object({
  days: Type.Integer(),
  totals: Type.Object(
    {
      users: Count('Accounts now (deleted ones not counted)'),
      ...DayFigures,
      revenue: Type.Array(Money, { description: 'Per currency, over the window' }),
    },
    { description: 'The whole window' },
  ),
  daily: Type.Array(
    Type.Object({ date: Type.String({ description: 'A calendar day in CHECKIN_TZ' }), ...DayFigures }),
    {
      description: 'Every day of the window, oldest first, zeros filled in',
    },
  ),
  revenue: Type.Array(Type.Object({ date: Type.String(), ...Money.properties }), {
    description: 'Per day and currency, only the days with money in or out',
  }),
});

const DaysQuery = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 90, default: 7 }) },
  { additionalProperties: false },
);

const UserIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 36 }) });

/** The admin overview and an account's usage as admins read them (docs/admin.md). */
export function registerAdminOverviewRoutes(
  app: App,
  deps: { overview: OverviewService; usage: UsageService; users: UsersService },
): void {
  const config = { access: 'admin' as const };
  const tags = ['admin'];
  const security = [{ bearer: [] }];

  app.get(
    '/api/admin/overview',
    {
      config,
      schema: {
        tags,
        security,
        summary:
          'Users, calls, credits, revenue, failed calls and latency over the last `days` days (in CHECKIN_TZ), in all and per day',
        querystring: DaysQuery,
        response: { 200: OverviewView },
      },
    },
    (request) => deps.overview.overview(request.query.days),
  );

  app.get(
    '/api/admin/users/:id/usage',
    {
      config,
      schema: {
        tags,
        security,
        summary: "An account's metered calls, newest first (the filters of /api/usage/logs)",
        params: UserIdParams,
        querystring: LogsQuery,
        response: { 200: Paged(LogItem) },
      },
    },
    async (request) => {
      const user = await deps.users.findById(request.params.id);
      if (!user) throw new AppError('NOT_FOUND');
      return logsPage(deps.usage, user.id, request.query);
    },
  );
}
