import type { Clock } from '#core/clock.ts';
import { newId } from '#core/ids.ts';
import { encodeCursor, type CursorPosition } from '#core/http/pagination.ts';
import type { AuditFilter, AuditRepository } from './audit.repository.ts';
import type { ActorKind, AuditRow } from './audit.tables.ts';

/** One admin action, as the audit hook (audit.ts) describes it. */
export interface AuditEntry {
  actorKind: ActorKind;
  actorUserId: string | null;
  action: string;
  method: string;
  route: string;
  params: Record<string, unknown> | null;
  targetType: string | null;
  targetId: string | null;
  before: unknown;
  after: unknown;
  status: number;
  ip: string;
  requestId: string;
}

export interface AuditPage {
  rows: AuditRow[];
  total: number;
  nextCursor: string | null;
  hasMore: boolean;
}

/**
 * JSON kept in a text column: MySQL's `text` holds 65,535 bytes, and a character takes up to 4, so
 * a longer value is replaced by a note of its length (an admin action's before/after is a few fields;
 * only a runaway value gets here).
 */
const MAX_JSON_CHARS = 16_000;

function json(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  return text.length <= MAX_JSON_CHARS ? text : JSON.stringify({ truncated: true, length: text.length });
}

/** The audit log of admin actions (docs/admin.md): written by the hook, read by GET /api/admin/audit. */
export class AuditService {
  constructor(
    private readonly repo: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const now = this.clock.now();
    await this.repo.insert({
      id: newId(now),
      created_at: now,
      actor_kind: entry.actorKind,
      actor_user_id: entry.actorUserId,
      action: entry.action.slice(0, 160),
      method: entry.method.slice(0, 8),
      route: entry.route.slice(0, 255),
      params: entry.params && Object.keys(entry.params).length > 0 ? json(entry.params) : null,
      target_type: entry.targetType?.slice(0, 32) ?? null,
      target_id: entry.targetId?.slice(0, 128) ?? null,
      before_json: json(entry.before),
      after_json: json(entry.after),
      status: entry.status,
      ip: entry.ip.slice(0, 64),
      request_id: entry.requestId.slice(0, 64),
    });
  }

  /** Newest first: by `cursor` when given (keyset, stable while rows are added), else by page. */
  async list(
    filter: AuditFilter,
    paging: { page: number; limit: number; cursor?: CursorPosition },
  ): Promise<AuditPage> {
    const { page, limit, cursor } = paging;
    const [found, total] = await Promise.all([
      this.repo.list(filter, { limit: limit + 1, offset: (page - 1) * limit, ...(cursor ? { cursor } : {}) }),
      this.repo.count(filter),
    ]);
    const rows = found.slice(0, limit);
    const hasMore = found.length > limit;
    const last = rows.at(-1);
    return {
      rows,
      total,
      hasMore,
      nextCursor: hasMore && last ? encodeCursor({ at: Number(last.created_at), id: last.id }) : null,
    };
  }
}
