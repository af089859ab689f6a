import { Type } from 'typebox';
import type { App } from '#core/http/route-config.ts';
import { principalOf } from '#core/http/principal.ts';
import type { SessionRow } from './auth.tables.ts';
import type { TokenService } from './token.service.ts';

const SessionView = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  /** The session this request was made with. */
  current: Type.Boolean(),
});

const SessionIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

function toSessionView(row: SessionRow, currentId: string) {
  return {
    id: row.id,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    expiresAt: new Date(Number(row.expires_at)).toISOString(),
    ip: row.ip,
    userAgent: row.user_agent,
    current: row.id === currentId,
  };
}

/** A user's own sign-ins: the list, and "end this session" for any one of them (another device, say). */
export function registerSessionsRoutes(app: App, tokens: TokenService): void {
  const tags = ['auth'];
  const security = [{ bearer: [] }];

  app.get(
    '/api/auth/sessions',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'Your live sessions, newest first (the one making this request is marked current)',
        response: { 200: Type.Object({ items: Type.Array(SessionView) }) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const rows = await tokens.listSessions(principal.userId);
      return { items: rows.map((row) => toSessionView(row, principal.sessionId)) };
    },
  );

  app.delete(
    '/api/auth/sessions/:id',
    {
      config: { access: 'user' },
      schema: {
        tags,
        security,
        summary: 'End one of your sessions; its next request is refused',
        params: SessionIdParams,
        response: { 200: Type.Object({ ended: Type.Literal(true) }) },
      },
    },
    async (request) => {
      await tokens.endOwnSession(principalOf(request).userId, request.params.id);
      return { ended: true as const };
    },
  );
}
