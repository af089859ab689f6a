import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';

/**
 * The books of orders (docs/payments.md), read straight from the tables: every fulfilled order has
 * exactly one grant (a `recharge` ledger row or a subscription under the key `order:<id>`) and an order
 * never fulfilled has none; an order's refunded amount is the sum of its succeeded refunds and never
 * more than it was paid; what refunds not failed add up to is what the order keeps aside for them;
 * each refund that took credits back has exactly that one ledger row (`refund:<refund id>`).
 * Returns one sentence per broken rule.
 */
export async function checkOrderBooks(db: Kysely<DB>): Promise<string[]> {
  const [orders, refunds, ledger, subscriptions] = await Promise.all([
    db
      .selectFrom('orders')
      .select(['id', 'kind', 'status', 'amount', 'credits', 'fulfilled_at', 'refunded_amount', 'refund_requested'])
      .execute(),
    db.selectFrom('order_refunds').select(['id', 'order_id', 'amount', 'status', 'credits_reversed']).execute(),
    db
      .selectFrom('credit_ledger')
      .select(['idempotency_key', 'amount'])
      .where((eb) => eb.or([eb('idempotency_key', 'like', 'order:%'), eb('idempotency_key', 'like', 'refund:%')]))
      .execute(),
    db.selectFrom('subscriptions').select(['idempotency_key']).where('idempotency_key', 'like', 'order:%').execute(),
  ]);
  const violations: string[] = [];
  const count = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
  const ledgerKeys = count(ledger.map((r) => r.idempotency_key));
  const subscriptionKeys = count(subscriptions.map((r) => r.idempotency_key));
  const ledgerAmount = new Map(ledger.map((r) => [r.idempotency_key, Number(r.amount)]));
  const refundsOf = new Map<string, typeof refunds>();
  for (const refund of refunds) refundsOf.set(refund.order_id, [...(refundsOf.get(refund.order_id) ?? []), refund]);

  for (const order of orders) {
    const key = `order:${order.id}`;
    const grants = order.kind === 'plan' ? (subscriptionKeys.get(key) ?? 0) : (ledgerKeys.get(key) ?? 0);
    const fulfilled = order.fulfilled_at !== null;
    if (fulfilled && grants !== 1) violations.push(`order ${order.id}: fulfilled with ${grants} grants`);
    if (!fulfilled && grants !== 0)
      violations.push(`order ${order.id}: ${order.status}, not fulfilled, with ${grants} grants`);
    if (fulfilled && order.kind === 'credits' && ledgerAmount.get(key) !== Number(order.credits))
      violations.push(`order ${order.id}: granted ${ledgerAmount.get(key)} credits, sold ${order.credits}`);
    const mine = refundsOf.get(order.id) ?? [];
    const succeeded = mine.filter((r) => r.status === 'succeeded').reduce((n, r) => n + Number(r.amount), 0);
    const asked = mine.filter((r) => r.status !== 'failed').reduce((n, r) => n + Number(r.amount), 0);
    if (Number(order.refunded_amount) !== succeeded)
      violations.push(`order ${order.id}: refunded ${order.refunded_amount} ≠ Σ succeeded refunds ${succeeded}`);
    if (Number(order.refund_requested) !== asked)
      violations.push(`order ${order.id}: refund_requested ${order.refund_requested} ≠ Σ refunds not failed ${asked}`);
    if (succeeded > Number(order.amount)) violations.push(`order ${order.id}: refunded more than paid`);
  }
  for (const refund of refunds) {
    const key = `refund:${refund.id}`;
    const reversed = Number(refund.credits_reversed);
    const rows = ledgerKeys.get(key) ?? 0;
    if (reversed > 0 && (rows !== 1 || ledgerAmount.get(key) !== -reversed))
      violations.push(`refund ${refund.id}: took back ${reversed} credits, ledger has ${rows} rows`);
    if (reversed === 0 && rows !== 0) violations.push(`refund ${refund.id}: ledger rows without credits taken back`);
  }
  return violations;
}
