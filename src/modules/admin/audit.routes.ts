import { AppError } from '#core/errors.ts';
import { CursorPaged, decodeCursor } from '#core/http/pagination.ts';
import type { App } from '#core/http/route-config.ts';
import { AuditItem, AuditQuery, toAuditItem } from './audit.schemas.ts';
import type { AuditService } from './audit.service.ts';

/** The moment of an ISO date-time filter; a date the schema let through but Date cannot read is a 400. */
function moment(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (!Number.isFinite(at)) throw new AppError('VALIDATION_FAILED', { detail: `${name} is not a date-time` });
  return at;
}

export function registerAuditRoutes(app: App, audit: AuditService): void {
  app.get(
    '/api/admin/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security: [{ bearer: [] }],
        summary: 'The audit log of admin actions, newest first, with filters',
        querystring: AuditQuery,
        response: { 200: CursorPaged(AuditItem) },
      },
    },
    async (request) => {
      const { page, limit, cursor, actor, action, targetType, targetId } = request.query;
      const from = moment(request.query.from, 'from');
      const to = moment(request.query.to, 'to');
      const result = await audit.list(
        {
          ...(actor !== undefined ? { actor } : {}),
          ...(action !== undefined ? { action } : {}),
          ...(targetType !== undefined ? { targetType } : {}),
          ...(targetId !== undefined ? { targetId } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        },
        { page, limit, ...(cursor !== undefined ? { cursor: decodeCursor(cursor) } : {}) },
      );
      return {
        items: result.rows.map(toAuditItem),
        total: result.total,
        page,
        limit,
        nextCursor: result.nextCursor,
        hasMore: result.hasMore,
      };
    },
  );
}
