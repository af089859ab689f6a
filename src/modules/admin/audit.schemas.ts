import { Type, type Static } from 'typebox';
import { CursorPageQuery } from '#core/http/pagination.ts';
import type { AuditRow } from './audit.tables.ts';

/** `GET /api/admin/audit`: filters (combined with AND) and page/cursor paging, newest first. */
export const AuditQuery = Type.Object(
  {
    ...CursorPageQuery.properties,
    actor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 36, description: "An admin's user id, or `adminkey` for the admin key" }),
    ),
    action: Type.Optional(
      Type.String({ minLength: 1, maxLength: 160, description: 'Exactly, e.g. `POST /api/admin/users/:id/credits`' }),
    ),
    targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'e.g. `user`, `channel`' })),
    targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'From this moment, inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Until this moment, exclusive' })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

const Json = Type.Unknown({ description: 'JSON, or null' });

export const AuditItem = Type.Object({
  id: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  actor: Type.Object({
    kind: Type.Union([Type.Literal('session'), Type.Literal('adminkey')]),
    userId: Type.Union([Type.String(), Type.Null()]),
  }),
  action: Type.String(),
  method: Type.String(),
  route: Type.String(),
  params: Json,
  target: Type.Union([Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  before: Json,
  after: Json,
  status: Type.Integer(),
  ip: Type.String(),
  requestId: Type.String(),
});
export type AuditItem = Static<typeof AuditItem>;

const parsed = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function toAuditItem(row: AuditRow): AuditItem {
  return {
    id: row.id,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    actor: { kind: row.actor_kind, userId: row.actor_user_id },
    action: row.action,
    method: row.method,
    route: row.route,
    params: parsed(row.params),
    target: row.target_type === null ? null : { type: row.target_type, id: row.target_id },
    before: parsed(row.before_json),
    after: parsed(row.after_json),
    status: row.status,
    ip: row.ip,
    requestId: row.request_id,
  };
}
