import type { Insertable, Selectable } from 'kysely';

/** Who acted: an admin's session, or the admin key (which is nobody's account). */
export type ActorKind = 'session' | 'adminkey';

/** migrations/20261207_0008_audit_log.ts: append-only. */
export interface AuditLogTable {
  id: string;
  /** Epoch milliseconds. */
  created_at: number;
  actor_kind: ActorKind;
  /** The admin's user id; null for the admin key. */
  actor_user_id: string | null;
  /** `METHOD /route/:pattern`, or a named action a handler gave (auditDetail). */
  action: string;
  method: string;
  route: string;
  /** The route's path parameters, as JSON. */
  params: string | null;
  target_type: string | null;
  target_id: string | null;
  before_json: string | null;
  after_json: string | null;
  /** The HTTP status answered. */
  status: number;
  ip: string;
  request_id: string;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}

export type AuditRow = Selectable<AuditLogTable>;
export type NewAuditRow = Insertable<AuditLogTable>;
