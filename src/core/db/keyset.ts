import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { CursorPosition } from '#core/http/pagination.ts';

/**
 * The rows a newest-first list, ordered by `created_at` then `id` (both descending), gives after
 * `cursor`: its keyset predicate, `where(olderThan(cursor))`. One place for it, so every cursor-paged
 * list pages the same way (docs: core/http/pagination.ts, CursorPosition).
 */
export function olderThan(cursor: CursorPosition): RawBuilder<SqlBool> {
  const at = sql.ref('created_at');
  return sql<SqlBool>`(${at} < ${cursor.at} or (${at} = ${cursor.at} and ${sql.ref('id')} < ${cursor.id}))`;
}
