import { decodeCursor, encodeCursor, type CursorPosition } from '#core/http/pagination.ts';

/** A list page as seed 003 pages lists: page or cursor, with the total. */
export interface KeysetPage<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
  nextCursor: string | null;
  hasMore: boolean;
}

/**
 * One page of a keyset-ordered list (the gallery, favorites), by `page` or by `cursor`: a cursor page
 * reads one row more to know whether another follows; a numbered page has the total. `at` is the
 * value of the list's first order column that the next cursor records.
 */
export async function keysetPage<R extends { id: string }, T>(
  query: { page: number; limit: number; cursor?: string | undefined },
  fetch: (after: CursorPosition | undefined, offset: number, limit: number) => Promise<{ rows: R[]; total: number }>,
  at: (row: R) => number,
  views: (rows: R[]) => Promise<T[]>,
): Promise<KeysetPage<T>> {
  const { page, limit } = query;
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const { rows, total } = await fetch(after, after ? 0 : (page - 1) * limit, after ? limit + 1 : limit);
  const items = rows.slice(0, limit);
  const hasMore = after ? rows.length > limit : (page - 1) * limit + items.length < total;
  const last = items.at(-1);
  return {
    items: await views(items),
    total,
    page: after ? 1 : page,
    limit,
    nextCursor: hasMore && last ? encodeCursor({ at: at(last), id: last.id }) : null,
    hasMore,
  };
}
