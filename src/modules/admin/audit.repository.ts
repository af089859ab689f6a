import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { AuditRow, NewAuditRow } from './audit.tables.ts';
import { olderThan } from '#core/db/keyset.ts';

/** What the audit listing may be narrowed to; every field is optional and they combine with AND. */
export interface AuditFilter {
  /** An admin's user id, or `adminkey` for the admin key. */
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
}

/** The audit log is append-only: this repository inserts and reads, nothing else. */
export class AuditRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: NewAuditRow): Promise<void> {
    await this.db.insertInto('audit_log').values(row).execute();
  }

  /** Newest first; after `cursor` (keyset on created_at, id) or from `offset`. */
  list(filter: AuditFilter, page: { limit: number; offset: number; cursor?: CursorPosition }): Promise<AuditRow[]> {
    let query = this.filtered(filter).selectAll();
    const { cursor } = page;
    if (cursor) {
      query = query.where(olderThan(cursor));
    }
    query = query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit);
    if (!cursor && page.offset > 0) query = query.offset(page.offset);
    return query.execute();
  }

  async count(filter: AuditFilter): Promise<number> {
    const row = await this.filtered(filter)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private filtered(filter: AuditFilter): SelectQueryBuilder<DB, 'audit_log', object> {
    let query = this.db.selectFrom('audit_log');
    if (filter.actor === 'adminkey') query = query.where('actor_kind', '=', 'adminkey');
    else if (filter.actor !== undefined) query = query.where('actor_user_id', '=', filter.actor);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.targetType !== undefined) query = query.where('target_type', '=', filter.targetType);
    if (filter.targetId !== undefined) query = query.where('target_id', '=', filter.targetId);
    if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('created_at', '<', filter.to);
    return query;
  }
}
