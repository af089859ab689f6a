import type { Kysely } from 'kysely';

/**
 * Orders: money in (docs/payments.md). An order is what a user buys (a plan or credits) at the price
 * the server says, paid through one provider (WeChat Pay, Stripe). Its life is pending → fulfilled
 * (the grant written in the same transaction), or closed, or paid without a grant (`paid`: money
 * received that the level rule refused, for an admin to refund), then refunded in whole or part.
 *
 * - `order_no` is the provider's `out_trade_no` (32 characters of [0-9a-f]), unique.
 * - `provider` + `transaction_id` is unique: one payment never pays two orders.
 * - `lease_until`/`lease_owner` let one instance at a time ask the provider about a pending order.
 * - `refund_requested` is what refunds not failed add up to: a conditional increment keeps the sum of
 *   refunds at or under the amount paid, whatever races.
 *
 * `order_refunds` holds each refund (`refund_no` is the provider's `out_refund_no`, unique) with what it
 * took back and what it could not (`credits_shortfall`: credits already spent). `order_events` is each
 * order's history: who said what (a notification, a query, an admin) and when.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('order_no', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('plan_id', 'varchar(36)')
    .addColumn('plan_code', 'varchar(64)')
    .addColumn('plan_days', 'integer')
    .addColumn('pack_code', 'varchar(32)')
    .addColumn('credits', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('description', 'varchar(127)', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(8)', (c) => c.notNull())
    .addColumn('provider', 'varchar(16)', (c) => c.notNull())
    .addColumn('channel', 'varchar(24)', (c) => c.notNull())
    .addColumn('provider_ref', 'varchar(255)')
    .addColumn('transaction_id', 'varchar(128)')
    .addColumn('status', 'varchar(24)', (c) => c.notNull())
    .addColumn('note', 'varchar(500)')
    .addColumn('refund_requested', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refunded_amount', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('paid_at', 'bigint')
    .addColumn('fulfilled_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_owner', 'varchar(64)')
    .addColumn('queries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('orders_user_created_idx').on('orders').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('orders_status_created_idx').on('orders').columns(['status', 'created_at']).execute();
  await db.schema
    .createIndex('orders_provider_transaction_idx')
    .on('orders')
    .columns(['provider', 'transaction_id'])
    .unique()
    .execute();
  await db.schema.createIndex('orders_created_idx').on('orders').columns(['created_at']).execute();

  await db.schema
    .createTable('order_refunds')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('order_id', 'varchar(36)', (c) => c.notNull().references('orders.id'))
    .addColumn('refund_no', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(8)', (c) => c.notNull())
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('provider_refund_id', 'varchar(128)')
    .addColumn('credits_reversed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credits_shortfall', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('plan_effect', 'varchar(200)')
    .addColumn('requested_by', 'varchar(64)')
    .addColumn('lease_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('settled_at', 'bigint')
    .execute();
  await db.schema.createIndex('order_refunds_order_idx').on('order_refunds').columns(['order_id']).execute();
  await db.schema
    .createIndex('order_refunds_status_created_idx')
    .on('order_refunds')
    .columns(['status', 'created_at'])
    .execute();

  await db.schema
    .createTable('order_events')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('order_id', 'varchar(36)', (c) => c.notNull().references('orders.id'))
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('via', 'varchar(32)', (c) => c.notNull())
    .addColumn('event_id', 'varchar(191)')
    .addColumn('detail', 'varchar(1000)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('order_events_order_idx')
    .on('order_events')
    .columns(['order_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('order_events').execute();
  await db.schema.dropTable('order_refunds').execute();
  await db.schema.dropTable('orders').execute();
}
