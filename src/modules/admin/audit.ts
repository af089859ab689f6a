import type { FastifyRequest } from 'fastify';
import type { App } from '#core/http/route-config.ts';
import type { AuditService } from './audit.service.ts';

/** What a handler adds to its audit row: the target, and for money and role changes the values before and after. */
export interface AuditDetail {
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  /** A name for the action instead of `METHOD /route/:pattern` (e.g. `user.disable`). */
  action?: string;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const details = new WeakMap<FastifyRequest, AuditDetail>();

/**
 * Adds the target and before/after values to the audit row of this request (written by the hook
 * below when the request succeeds). Called again, it adds to what was given: the later values win.
 * Never put a secret here (an upstream key, a password): the row is shown to every admin.
 */
export function auditDetail(request: FastifyRequest, detail: AuditDetail): void {
  details.set(request, { ...details.get(request), ...detail });
}

/**
 * One audit row for every state-changing request (POST, PUT, PATCH, DELETE) to a route declared
 * `access: 'admin'` that succeeded (2xx), written in `onSend`, before the answer leaves: an admin who
 * got a 2xx has a row. If the row cannot be written the answer is an error instead (the change itself
 * is already made; docs/admin.md). Refused requests (4xx) changed nothing and are not rows; the
 * request log has them. The request body is never recorded (it can carry upstream keys); the route's
 * path parameters are, and what the handler gave auditDetail.
 */
export function registerAuditHook(app: App, audit: AuditService): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.config.access !== 'admin' || !STATE_CHANGING.has(request.method)) return payload;
    const status = reply.statusCode;
    const principal = request.principal;
    if (status < 200 || status >= 300 || !principal) return payload;
    const detail = details.get(request);
    const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
    await audit.record({
      actorKind: principal.via === 'adminkey' ? 'adminkey' : 'session',
      actorUserId: principal.via === 'adminkey' ? null : principal.userId,
      action: detail?.action ?? `${request.method} ${route}`,
      method: request.method,
      route,
      params: (request.params as Record<string, unknown> | undefined) ?? null,
      targetType: detail?.targetType ?? null,
      targetId: detail?.targetId ?? null,
      before: detail?.before,
      after: detail?.after,
      status,
      ip: request.ip,
      requestId: String(request.id),
    });
    return payload;
  });
}
