import { Type } from 'typebox';
import { langOf, message as say } from '#core/i18n.ts';
import { Paged, PageQuery } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import type { CheckinService } from './checkin.service.ts';
import { principalOf } from '#core/http/principal.ts';

const CheckinResponse = Type.Object({
  success: Type.Boolean(),
  creditEarned: Type.Integer(),
  consecutiveDays: Type.Integer(),
  totalCredits: Type.Integer(),
  message: Type.String(),
});

const StatusResponse = Type.Object({
  hasCheckedIn: Type.Boolean(),
  consecutiveDays: Type.Integer(),
  lastCheckinDate: Type.Union([Type.String(), Type.Null()]),
});

const HistoryItem = Type.Object({
  id: Type.String(),
  checkinDate: Type.String(),
  creditEarned: Type.Integer(),
  consecutiveDays: Type.Integer(),
});

/** Seed 001 §3. */
export function registerCheckinRoutes(app: App, checkin: CheckinService): void {
  const tags = ['checkin'];
  const security = [{ bearer: [] }];

  app.post(
    '/api/checkin',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Check in for today (once per calendar day in CHECKIN_TZ)',
        response: { 200: CheckinResponse },
      },
    },
    async (request) => {
      const result = await checkin.checkIn(principalOf(request).userId);
      const message = say(langOf(request), 'CHECKED_IN', {
        credits: result.creditEarned,
        days: result.consecutiveDays,
      });
      return { success: true, ...result, message };
    },
  );

  app.get(
    '/api/checkin/status',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: "Today's check-in state and the current streak",
        response: { 200: StatusResponse },
      },
    },
    (request) => checkin.status(principalOf(request).userId),
  );

  app.get(
    '/api/checkin/history',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Past check-ins, newest first',
        querystring: PageQuery,
        response: { 200: Paged(HistoryItem) },
      },
    },
    async (request) => {
      const { page, limit } = request.query;
      const { rows, total } = await checkin.history(principalOf(request).userId, page, limit);
      const items = rows.map((r) => ({
        id: r.id,
        checkinDate: r.checkin_date,
        creditEarned: r.credit_earned,
        consecutiveDays: r.consecutive_days,
      }));
      return { items, total, page, limit };
    },
  );
}
