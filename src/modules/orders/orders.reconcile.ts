import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '#core/clock.ts';
import { newId } from '#core/ids.ts';
import type { PaymentsRegistry } from '#modules/payments/payments.registry.ts';
import type { OrdersRepository } from './orders.repository.ts';
import type { OrdersService } from './orders.service.ts';

export interface ReconcileResult {
  checked: number;
  fulfilled: number;
  closed: number;
  refundsAsked: number;
}

/**
 * The reconcile job (docs/payments.md): WeChat may never notify, a process may die between a verified
 * notification and its commit, a refund may go unanswered. Each pass asks the provider about pending
 * orders older than `ORDER_QUERY_AFTER` (a paid one is fulfilled through the same PaymentSink as a
 * notification), closes those past their expiry (at the provider, then here: a payment that won the race
 * is fulfilled instead), and asks again about refunds still pending (same refund number: never twice).
 *
 * With several instances each order is handled by one: it is claimed with a conditional update of its
 * lease (`lease_until`), which ends by itself, so an instance that dies holding one only delays it.
 * After a pass an order is left alone a little longer each time (up to ten intervals).
 */
export class OrderReconciler {
  readonly owner = newId();

  constructor(
    private readonly repo: OrdersRepository,
    private readonly orders: OrdersService,
    private readonly registry: PaymentsRegistry,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly options: { queryAfterMs: number; intervalMs: number; batch?: number },
  ) {}

  async run(): Promise<ReconcileResult> {
    const result: ReconcileResult = { checked: 0, fulfilled: 0, closed: 0, refundsAsked: 0 };
    const now = this.clock.now();
    const lease = Math.max(60_000, this.options.intervalMs * 2);
    const batch = this.options.batch ?? 100;
    for (const id of await this.repo.duePending(now, now - this.options.queryAfterMs, batch)) {
      if (!(await this.repo.claim(id, this.owner, now, now + lease))) continue;
      const order = await this.repo.find(id);
      if (!order) continue;
      result.checked += 1;
      try {
        const outcome = await this.reconcileOne(order);
        if (outcome === 'fulfilled') result.fulfilled += 1;
        if (outcome === 'closed') result.closed += 1;
      } catch (error) {
        this.log.warn({ err: error, orderNo: order.order_no }, 'reconcile: the order could not be checked');
      } finally {
        const next = this.clock.now() + Math.min(order.queries + 1, 10) * this.options.intervalMs;
        await this.repo.release(id, this.owner, next);
      }
    }
    for (const refundNo of await this.repo.duePendingRefunds(now, now - this.options.queryAfterMs, batch)) {
      if (!(await this.repo.claimRefund(refundNo, now, now + lease))) continue;
      const refund = await this.repo.findRefundByNo(refundNo);
      const order = refund && (await this.repo.find(refund.order_id));
      if (!refund || !order || !this.registry.has(order.provider)) continue;
      result.refundsAsked += 1;
      try {
        await this.orders.askRefund(this.registry.provider(order.provider), order, refund);
      } catch (error) {
        this.log.warn({ err: error, refundNo }, 'reconcile: the refund could not be asked again');
      }
    }
    return result;
  }

  private async reconcileOne(order: Awaited<ReturnType<OrdersRepository['find']>> & object) {
    const expired = this.clock.now() >= order.expires_at;
    if (!this.registry.has(order.provider)) {
      // The provider is no longer configured: nothing can be asked; an expired order is closed here.
      if (expired && (await this.orders.books.close(order, 'expired (provider not configured)', 'reconcile')))
        return 'closed';
      return 'pending';
    }
    const provider = this.registry.provider(order.provider);
    const state = await provider.query(order.order_no, order.provider_ref);
    if (state.state === 'paid') return this.orders.books.confirmPaid(state.evidence, null);
    if (state.state === 'closed')
      return (await this.orders.books.close(order, 'closed at the provider', 'query')) ? 'closed' : 'pending';
    if (!expired) return 'pending';
    await this.orders.closeAtProvider(order, 'expired unpaid', 'reconcile');
    const after = await this.repo.find(order.id);
    return after?.status === 'closed' ? 'closed' : after?.status === 'fulfilled' ? 'fulfilled' : 'pending';
  }
}
