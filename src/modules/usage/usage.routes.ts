import { Type, type Static } from 'typebox';
import { PageQuery, Paged } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import type { UsageService } from './usage.service.ts';
import type { UsageRow } from './usage.tables.ts';
import { principalOf } from '#core/http/principal.ts';

export const LogItem = Type.Object({
  id: Type.String(),
  requestId: Type.String(),
  keyId: Type.Union([Type.String(), Type.Null()]),
  endpoint: Type.String(),
  model: Type.String(),
  stream: Type.Boolean(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  credits: Type.Integer(),
  /** Credits the call cost beyond what was held for it (docs/money.md, rule 6). */
  overrun: Type.Integer(),
  latencyMs: Type.Integer(),
  status: Type.String(),
  httpStatus: Type.Integer(),
  endReason: Type.String(),
  usageSource: Type.String(),
  createdAt: Type.String(),
});

export const LogsQuery = Type.Object(
  {
    ...PageQuery.properties,
    model: Type.Optional(Type.String({ maxLength: 128 })),
    keyId: Type.Optional(Type.String({ maxLength: 36 })),
    status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('error')])),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const DaysQuery = Type.Object(
  { days: Type.Integer({ minimum: 1, maximum: 366, default: 7 }) },
  { additionalProperties: false },
);

const DailyItem = Type.Object({
  date: Type.String(),
  requests: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  credits: Type.Integer(),
});

/** Seed 001 §4.7's shape. */
const DifyUsageStats = Type.Object({
  totalRequests: Type.Integer(),
  totalCreditsUsed: Type.Integer(),
  dailyStats: Type.Array(Type.Object({ date: Type.String(), requests: Type.Integer(), creditsUsed: Type.Integer() })),
});

/** One account's calls, a page of them by the usage log's filters (its own log, or an admin's view of it). */
export async function logsPage(usage: UsageService, userId: string, query: Static<typeof LogsQuery>) {
  const { page, limit, model, keyId, status, from, to } = query;
  const { rows, total } = await usage.logs(
    {
      userId,
      model,
      keyId,
      status,
      from: from ? Date.parse(from) : undefined,
      to: to ? Date.parse(to) : undefined,
    },
    page,
    limit,
  );
  return { items: rows.map(toLogItem), total, page, limit };
}

export function toLogItem(row: UsageRow) {
  return {
    id: row.id,
    requestId: row.request_id,
    keyId: row.key_id,
    endpoint: row.endpoint,
    model: row.model,
    stream: row.stream === 1,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    credits: row.credits,
    overrun: Number(row.overrun),
    latencyMs: row.latency_ms,
    status: row.status,
    httpStatus: row.http_status,
    endReason: row.end_reason,
    usageSource: row.usage_source,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** A user's own usage: every call, and per-day sums. */
export function registerUsageRoutes(app: App, usage: UsageService): void {
  const config = { access: 'user' as const };
  const security = [{ bearer: [] }];

  app.get(
    '/api/usage/logs',
    {
      config,
      schema: {
        tags: ['usage'],
        security,
        summary: 'Your metered calls, newest first',
        querystring: LogsQuery,
        response: { 200: Paged(LogItem) },
      },
    },
    async (request) => {
      return logsPage(usage, principalOf(request).userId, request.query);
    },
  );

  app.get(
    '/api/usage/stats',
    {
      config,
      schema: {
        tags: ['usage'],
        security,
        summary: 'Requests, tokens and credits per day',
        querystring: DaysQuery,
        response: { 200: Type.Object({ days: Type.Array(DailyItem), totals: Type.Omit(DailyItem, ['date']) }) },
      },
    },
    async (request) => {
      const days = await usage.daily(principalOf(request).userId, request.query.days);
      const totals = days.reduce(
        (sum, d) => ({
          requests: sum.requests + d.requests,
          inputTokens: sum.inputTokens + d.inputTokens,
          outputTokens: sum.outputTokens + d.outputTokens,
          credits: sum.credits + d.credits,
        }),
        { requests: 0, inputTokens: 0, outputTokens: 0, credits: 0 },
      );
      return { days, totals };
    },
  );

  app.get(
    '/api/usage/daily-by-model',
    {
      config,
      schema: {
        tags: ['usage'],
        security,
        summary:
          'Requests, tokens and credits per day and model: `dates` is the window (oldest first); days and models without calls are left out of `items`',
        querystring: DaysQuery,
        response: {
          200: Type.Object({
            dates: Type.Array(Type.String()),
            items: Type.Array(Type.Object({ ...DailyItem.properties, model: Type.String() })),
          }),
        },
      },
    },
    (request) => usage.dailyByModel(principalOf(request).userId, request.query.days),
  );

  app.get(
    '/api/dify/usage-stats',
    {
      config: { access: 'userOrKey' },
      schema: {
        tags: ['usage'],
        security,
        summary: 'Seed 001 §4.7: requests and credits per day',
        querystring: DaysQuery,
        response: { 200: DifyUsageStats },
      },
    },
    async (request) => {
      const days = await usage.daily(principalOf(request).userId, request.query.days);
      return {
        totalRequests: days.reduce((n, d) => n + d.requests, 0),
        totalCreditsUsed: days.reduce((n, d) => n + d.credits, 0),
        dailyStats: days.map((d) => ({ date: d.date, requests: d.requests, creditsUsed: d.credits })),
      };
    },
  );
}
