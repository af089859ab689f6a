import { sql, type Kysely, type Updateable } from 'kysely';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { DB } from '#core/db/schema.ts';
import type { OrderEventRow, OrderRow, OrdersTable, OrderStatus, RefundRow, RefundStatus } from './orders.tables.ts';
import { olderThan } from '#core/db/keyset.ts';

export interface OrderFilter {
  userId?: string | undefined;
  status?: OrderStatus | undefined;
  provider?: string | undefined;
  /** An order's id or number, a transaction id or a provider reference, exactly. */
  search?: string | undefined;
  /** Made at or after this moment (epoch ms). */
  from?: number | undefined;
  /** Made before this moment (epoch ms). */
  to?: number | undefined;
  before?: CursorPosition | undefined;
}

const ORDER_NUMBERS = [
  'credits',
  'amount',
  'refund_requested',
  'refunded_amount',
  'expires_at',
  'paid_at',
  'fulfilled_at',
  'closed_at',
  'lease_until',
  'queries',
  'created_at',
  'updated_at',
] as const;
const REFUND_NUMBERS = [
  'amount',
  'credits_reversed',
  'credits_shortfall',
  'lease_until',
  'created_at',
  'updated_at',
  'settled_at',
] as const;

/** PostgreSQL and MySQL answer bigint columns as strings: every number is a number here. */
function numbers<T extends object>(row: T, keys: readonly string[]): T {
  const out = { ...row } as Record<string, unknown>;
  for (const key of keys) if (out[key] !== null && out[key] !== undefined) out[key] = Number(out[key]);
  return out as T;
}
const order = (row: OrderRow): OrderRow => numbers(row, ORDER_NUMBERS);
const refund = (row: RefundRow): RefundRow => numbers(row, REFUND_NUMBERS);
const changed = (result: { numUpdatedRows: bigint }): boolean => Number(result.numUpdatedRows) > 0;

/** The SQL of orders, their refunds and their history (docs/payments.md). Every state change is conditional. */
export class OrdersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: OrderRow): Promise<void> {
    await this.db.insertInto('orders').values(row).execute();
  }

  async find(id: string, db: Kysely<DB> = this.db): Promise<OrderRow | undefined> {
    const row = await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
    return row && order(row);
  }

  async findByNo(orderNo: string, db: Kysely<DB> = this.db): Promise<OrderRow | undefined> {
    const row = await db.selectFrom('orders').selectAll().where('order_no', '=', orderNo).executeTakeFirst();
    return row && order(row);
  }

  async list(filter: OrderFilter, offset: number, limit: number): Promise<{ rows: OrderRow[]; total: number }> {
    let rows = this.db.selectFrom('orders').selectAll();
    let count = this.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n'));
    const narrow = <Q extends typeof rows | typeof count>(q: Q): Q => {
      let query = q as typeof rows;
      if (filter.userId) query = query.where('user_id', '=', filter.userId);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.provider) query = query.where('provider', '=', filter.provider as OrderRow['provider']);
      if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('created_at', '<', filter.to);
      const search = filter.search;
      if (search)
        query = query.where((eb) =>
          eb.or([
            eb('id', '=', search),
            eb('order_no', '=', search),
            eb('transaction_id', '=', search),
            eb('provider_ref', '=', search),
            eb('user_id', '=', search),
          ]),
        );
      return query as Q;
    };
    rows = narrow(rows);
    count = narrow(count);
    const before = filter.before;
    if (before) rows = rows.where(olderThan(before));
    const [page, counted] = await Promise.all([
      rows.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      count.executeTakeFirstOrThrow(),
    ]);
    return { rows: page.map(order), total: Number(counted.n) };
  }

  async countPending(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Sets what the provider called the attempt; kept whatever the order's state (a payment may be faster). */
  async setProviderRef(id: string, ref: string, now: number): Promise<void> {
    await this.db.updateTable('orders').set({ provider_ref: ref, updated_at: now }).where('id', '=', id).execute();
  }

  /**
   * Moves the order from one of `from` to `to` with `patch`; false when it was in none of them (another
   * instance, notification or job got there first).
   */
  async move(
    id: string,
    from: readonly OrderStatus[],
    to: OrderStatus,
    patch: Updateable<OrdersTable>,
    db: Kysely<DB> = this.db,
  ): Promise<boolean> {
    return changed(
      await db
        .updateTable('orders')
        .set({ ...patch, status: to })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst(),
    );
  }

  /**
   * Sets `amount` of the order aside for a refund: false when the refunds not failed would then pass
   * what was paid, or the order is not in a refundable state.
   */
  async reserveRefund(id: string, amount: number, from: readonly OrderStatus[], now: number): Promise<boolean> {
    return changed(
      await this.db
        .updateTable('orders')
        .set({ refund_requested: sql`refund_requested + ${amount}`, updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', from)
        .where(sql<boolean>`refund_requested + ${amount} <= amount`)
        .executeTakeFirst(),
    );
  }

  async releaseRefund(id: string, amount: number, now: number, db: Kysely<DB> = this.db): Promise<void> {
    await db
      .updateTable('orders')
      .set({ refund_requested: sql`refund_requested - ${amount}`, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Adds a succeeded refund to the order: `refunded_amount` grows (never past `amount`) and the status
   * follows. False when it would pass the amount paid.
   */
  async addRefunded(id: string, amount: number, whole: boolean, now: number, db: Kysely<DB>): Promise<boolean> {
    return changed(
      await db
        .updateTable('orders')
        .set({
          refunded_amount: sql`refunded_amount + ${amount}`,
          status: whole ? 'refunded' : 'partially_refunded',
          updated_at: now,
        })
        .where('id', '=', id)
        .where(sql<boolean>`refunded_amount + ${amount} <= amount`)
        .executeTakeFirst(),
    );
  }

  /** Pending orders created before `createdBefore` whose lease is free: the reconcile job's candidates. */
  async duePending(now: number, createdBefore: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('orders')
      .select('id')
      .where('status', '=', 'pending')
      .where('created_at', '<=', createdBefore)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Claims a pending order for `owner` until `until`: one instance at a time, across restarts (the lease ends). */
  async claim(id: string, owner: string, now: number, until: number): Promise<boolean> {
    return changed(
      await this.db
        .updateTable('orders')
        .set({ lease_until: until, lease_owner: owner, queries: sql`queries + 1` })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .executeTakeFirst(),
    );
  }

  async release(id: string, owner: string, until: number | null): Promise<void> {
    await this.db
      .updateTable('orders')
      .set({ lease_until: until, lease_owner: null })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  async insertRefund(row: RefundRow): Promise<void> {
    await this.db.insertInto('order_refunds').values(row).execute();
  }

  async findRefundByNo(refundNo: string, db: Kysely<DB> = this.db): Promise<RefundRow | undefined> {
    const row = await db.selectFrom('order_refunds').selectAll().where('refund_no', '=', refundNo).executeTakeFirst();
    return row && refund(row);
  }

  async refundsOf(orderId: string): Promise<RefundRow[]> {
    const rows = await this.db
      .selectFrom('order_refunds')
      .selectAll()
      .where('order_id', '=', orderId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(refund);
  }

  /** Moves a refund from one of `from` to `to`; false when it was in none of them. */
  async moveRefund(
    id: string,
    from: readonly RefundStatus[],
    to: RefundStatus,
    patch: Partial<
      Pick<RefundRow, 'provider_refund_id' | 'credits_reversed' | 'credits_shortfall' | 'plan_effect' | 'settled_at'>
    > & {
      updated_at: number;
    },
    db: Kysely<DB> = this.db,
  ): Promise<boolean> {
    return changed(
      await db
        .updateTable('order_refunds')
        .set({ ...patch, status: to })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst(),
    );
  }

  async setProviderRefundId(id: string, providerRefundId: string, now: number): Promise<void> {
    await this.db
      .updateTable('order_refunds')
      .set({ provider_refund_id: providerRefundId, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** Pending refunds asked before `createdBefore` whose lease is free: the provider is asked again. */
  async duePendingRefunds(now: number, createdBefore: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('order_refunds')
      .select('refund_no')
      .where('status', '=', 'pending')
      .where('created_at', '<=', createdBefore)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.refund_no);
  }

  async claimRefund(refundNo: string, now: number, until: number): Promise<boolean> {
    return changed(
      await this.db
        .updateTable('order_refunds')
        .set({ lease_until: until })
        .where('refund_no', '=', refundNo)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .executeTakeFirst(),
    );
  }

  async insertEvent(row: OrderEventRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('order_events').values(row).execute();
  }

  async eventsOf(orderId: string): Promise<OrderEventRow[]> {
    const rows = await this.db
      .selectFrom('order_events')
      .selectAll()
      .where('order_id', '=', orderId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, created_at: Number(r.created_at) }));
  }

  /** Money received (orders with a payment, paid since `since`): when, how much, in what. */
  async payments(since: number): Promise<Array<{ at: number; amount: number; currency: string }>> {
    const rows = await this.db
      .selectFrom('orders')
      .select(['paid_at', 'amount', 'currency'])
      .where('paid_at', 'is not', null)
      .where('paid_at', '>=', since)
      .execute();
    return rows.map((r) => ({ at: Number(r.paid_at), amount: Number(r.amount), currency: r.currency }));
  }

  /** Money given back (refunds that succeeded since `since`). */
  async refunds(since: number): Promise<Array<{ at: number; amount: number; currency: string }>> {
    const rows = await this.db
      .selectFrom('order_refunds')
      .select(['settled_at', 'amount', 'currency'])
      .where('status', '=', 'succeeded')
      .where('settled_at', '>=', since)
      .execute();
    return rows.map((r) => ({ at: Number(r.settled_at), amount: Number(r.amount), currency: r.currency }));
  }

  /** Totals per currency over all time: received, refunded. */
  async totals(): Promise<Array<{ currency: string; received: number; refunded: number; orders: number }>> {
    const received = await this.db
      .selectFrom('orders')
      .select(['currency', (eb) => eb.fn.sum<number>('amount').as('sum'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('paid_at', 'is not', null)
      .groupBy('currency')
      .execute();
    const refunded = await this.db
      .selectFrom('order_refunds')
      .select(['currency', (eb) => eb.fn.sum<number>('amount').as('sum')])
      .where('status', '=', 'succeeded')
      .groupBy('currency')
      .execute();
    const byCurrency = new Map<string, { currency: string; received: number; refunded: number; orders: number }>();
    for (const r of received)
      byCurrency.set(r.currency, { currency: r.currency, received: Number(r.sum), refunded: 0, orders: Number(r.n) });
    for (const r of refunded) {
      const entry = byCurrency.get(r.currency) ?? { currency: r.currency, received: 0, refunded: 0, orders: 0 };
      entry.refunded = Number(r.sum);
      byCurrency.set(r.currency, entry);
    }
    return [...byCurrency.values()];
  }

  /** Orders by status: the user's, or everyone's. */
  async countsByStatus(userId?: string): Promise<Map<OrderStatus, number>> {
    let query = this.db.selectFrom('orders').select(['status', (eb) => eb.fn.countAll<number>().as('n')]);
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const rows = await query.groupBy('status').execute();
    return new Map(rows.map((row) => [row.status, Number(row.n)]));
  }
}
