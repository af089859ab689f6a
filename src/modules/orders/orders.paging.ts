import { keysetPage } from '#core/http/pagination.ts';
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
  return keysetPage(
    query,
    (before, _offset, limit) => orders.list({ ...filter, before }, query.page, limit),
    (row) => row.created_at,
    (rows) => rows.map(view),
  );
}
