import { decodeCursor, encodeCursor } from '#core/http/pagination.ts';
import type { OrderFilter } from './orders.repository.ts';
import type { OrdersService } from './orders.service.ts';
import type { OrderRow } from './orders.tables.ts';

/**
 * One page of orders, by `page` or by `cursor` (seed 003's "pagination + cursor"): a cursor page reads
 * one row more to know whether another follows; a numbered page has the total.
 */
export async function orderPage<T>(
  orders: OrdersService,
  filter: Omit<OrderFilter, 'before'>,
  query: { page: number; limit: number; cursor?: string | undefined },
  view: (row: OrderRow) => T,
) {
  const { page, limit, cursor } = query;
  const before = cursor === undefined ? undefined : decodeCursor(cursor);
  const { rows, total } = await orders.list({ ...filter, before }, page, before ? limit + 1 : limit);
  const items = rows.slice(0, limit);
  const hasMore = before ? rows.length > limit : (page - 1) * limit + items.length < total;
  const last = items.at(-1);
  return {
    items: items.map(view),
    total,
    page: before ? 1 : page,
    limit,
    nextCursor: hasMore && last ? encodeCursor({ at: last.created_at, id: last.id }) : null,
    hasMore,
  };
}
