import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { retry } from '#core/retry.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type { PaymentEvidence, PaymentSink, ProviderName, RefundEvidence } from '#modules/payments/payment-provider.ts';
import { ACTIVATION_RETRY, type PlansService } from '#modules/plans/plans.service.ts';
import type { OrdersRepository } from './orders.repository.ts';
import type { OrderRow, OrderStatus, RefundRow } from './orders.tables.ts';

/** States an order can be refunded from: money was received. */
export const REFUNDABLE: readonly OrderStatus[] = ['fulfilled', 'paid', 'partially_refunded'];
/** States in which a payment was already taken for the order. */
const PAID: readonly OrderStatus[] = ['fulfilled', 'paid', 'partially_refunded', 'refunded'];
/** The level rule's refusals: the payment is kept as `paid` for an admin to refund. */
const REFUSED_GRANT = new Set(['PLAN_CHANGE_REFUSED', 'PLAN_ALREADY_LIFETIME', 'PLAN_NOT_FOUND']);

/** The key of an order's grant (a ledger row or a subscription): one per order, ever. */
export const grantKey = (orderId: string): string => `order:${orderId}`;

/**
 * What a provider's verified news does to the books (docs/payments.md): a payment fulfils its order
 * once, in the transaction of its grant; a refund reverses the grant once, in the transaction of the
 * refund's move to `succeeded`; a close closes a pending order. Every change is a conditional update,
 * so a replay, a copy on another instance or a news older than the order's state changes nothing.
 */
export class OrderBooks implements PaymentSink {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: OrdersRepository,
    private readonly plans: PlansService,
    private readonly credits: CreditsService,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
  ) {}

  async confirmPaid(evidence: PaymentEvidence, eventId: string | null): Promise<'fulfilled' | 'already'> {
    const order = await this.repo.findByNo(evidence.orderNo);
    if (!order) throw new AppError('ORDER_NOT_FOUND');
    const mismatch = paymentMismatch(order, evidence);
    if (mismatch) {
      this.log.error({ orderNo: order.order_no, evidence, mismatch }, 'payment evidence does not match its order');
      throw new AppError('PAYMENT_MISMATCH', { detail: mismatch });
    }
    if (PAID.includes(order.status)) {
      if (order.transaction_id !== evidence.transactionId)
        this.log.error(
          { orderNo: order.order_no, kept: order.transaction_id, other: evidence.transactionId },
          'a second payment for one order: refund it at the provider',
        );
      return 'already';
    }
    const now = this.clock.now();
    const paid = { transaction_id: evidence.transactionId, paid_at: evidence.paidAt, updated_at: now };
    const detail = `${evidence.via} ${evidence.transactionId}`;
    if (order.status === 'closed') {
      // A close raced the payment (WeChat's close answers 204 even then): the money is recorded, not granted.
      const note = 'paid after the order was closed: refund it';
      const moved = await this.repo.move(order.id, ['closed'], 'paid', { ...paid, note });
      if (!moved) return 'already';
      await this.event(order.id, 'paid_unfulfilled', evidence.via, eventId, `${detail}; ${note}`);
      this.log.error({ orderNo: order.order_no }, 'payment for a closed order recorded as paid; refund it');
      return 'fulfilled';
    }
    try {
      const applied = await retry(
        () =>
          transact(this.db, async (trx) => {
            const fulfilled = { ...paid, fulfilled_at: now, lease_until: null, lease_owner: null };
            if (!(await this.repo.move(order.id, ['pending'], 'fulfilled', fulfilled, trx))) return false;
            await this.grant(trx, order);
            await this.event(order.id, 'fulfilled', evidence.via, eventId, detail, trx);
            return true;
          }),
        ACTIVATION_RETRY,
      );
      if (applied && order.kind === 'plan') await this.plans.announce(order.user_id);
      return applied ? 'fulfilled' : 'already';
    } catch (error) {
      if (!(error instanceof AppError && REFUSED_GRANT.has(error.code))) throw error;
      const note = `paid, not granted: ${error.message}`;
      const moved = await this.repo.move(order.id, ['pending'], 'paid', { ...paid, note });
      if (moved) await this.event(order.id, 'paid_unfulfilled', evidence.via, eventId, `${detail}; ${note}`);
      this.log.warn({ orderNo: order.order_no, err: error }, 'order paid but its plan could not be activated');
      return moved ? 'fulfilled' : 'already';
    }
  }

  async confirmClosed(provider: ProviderName, orderNo: string, eventId: string | null): Promise<'closed' | 'already'> {
    const order = await this.repo.findByNo(orderNo);
    if (!order) throw new AppError('ORDER_NOT_FOUND');
    if (order.provider !== provider) throw new AppError('PAYMENT_MISMATCH', { detail: 'provider' });
    return (await this.close(order, 'closed at the provider', 'notification', eventId)) ? 'closed' : 'already';
  }

  /** Closes a pending order (expired, cancelled, refused by the provider); false when it was not pending. */
  async close(order: OrderRow, note: string, via: string, eventId: string | null = null): Promise<boolean> {
    const now = this.clock.now();
    const patch = { closed_at: now, note, updated_at: now, lease_until: null, lease_owner: null };
    if (!(await this.repo.move(order.id, ['pending'], 'closed', patch))) return false;
    await this.event(order.id, 'closed', via, eventId, note);
    return true;
  }

  async confirmRefund(evidence: RefundEvidence, eventId: string | null): Promise<'applied' | 'already'> {
    let refund = await this.repo.findRefundByNo(evidence.refundNo);
    const order = refund ? await this.repo.find(refund.order_id) : await this.repo.findByNo(evidence.orderNo);
    if (!order) throw new AppError('ORDER_NOT_FOUND');
    const mismatch =
      order.order_no !== evidence.orderNo
        ? 'order'
        : order.provider !== evidence.provider
          ? 'provider'
          : order.currency !== evidence.currency
            ? 'currency'
            : refund && refund.amount !== evidence.amount
              ? 'amount'
              : null;
    if (mismatch) {
      this.log.error({ orderNo: order.order_no, evidence, mismatch }, 'refund evidence does not match');
      throw new AppError('PAYMENT_MISMATCH', { detail: mismatch });
    }
    if (!refund) {
      if (evidence.state !== 'succeeded') return 'already';
      refund = await this.adoptRefund(order, evidence);
    }
    const now = this.clock.now();
    if (evidence.state === 'pending') {
      if (evidence.providerRefundId && !refund.provider_refund_id)
        await this.repo.setProviderRefundId(refund.id, evidence.providerRefundId, now);
      return 'already';
    }
    if (evidence.state === 'failed') {
      const patch = { provider_refund_id: evidence.providerRefundId || null, settled_at: now, updated_at: now };
      return transact(this.db, async (trx) => {
        if (!(await this.repo.moveRefund(refund.id, ['pending'], 'failed', patch, trx))) return 'already';
        await this.repo.releaseRefund(order.id, refund.amount, now, trx);
        await this.event(order.id, 'refund_failed', evidence.via, eventId, refund.refund_no, trx);
        return 'applied';
      });
    }
    const applied = await retry(() => transact(this.db, (trx) => this.applyRefund(trx, refund, evidence, eventId)), {
      ...ACTIVATION_RETRY,
      retryable: (error) =>
        ACTIVATION_RETRY.retryable(error) || (error instanceof AppError && error.code === 'INSUFFICIENT_CREDITS'),
    });
    if (applied && order.kind === 'plan') await this.plans.announce(order.user_id);
    return applied ? 'applied' : 'already';
  }

  /** A refund made at the provider (its dashboard), not through Tollgate: recorded so the books follow it. */
  private async adoptRefund(order: OrderRow, evidence: RefundEvidence): Promise<RefundRow> {
    const now = this.clock.now();
    if (!(await this.repo.reserveRefund(order.id, evidence.amount, REFUNDABLE, now)))
      throw new AppError('PAYMENT_MISMATCH', { detail: 'a refund of more than is left to refund' });
    const row: RefundRow = {
      id: newId(now),
      order_id: order.id,
      refund_no: evidence.refundNo,
      amount: evidence.amount,
      currency: evidence.currency,
      reason: 'refunded at the provider',
      status: 'pending',
      provider_refund_id: evidence.providerRefundId || null,
      credits_reversed: 0,
      credits_shortfall: 0,
      plan_effect: null,
      requested_by: 'provider',
      lease_until: null,
      created_at: now,
      updated_at: now,
      settled_at: null,
    };
    try {
      await this.repo.insertRefund(row);
    } catch (error) {
      await this.repo.releaseRefund(order.id, evidence.amount, now);
      if (!isUniqueViolation(error)) throw error;
      const seen = await this.repo.findRefundByNo(evidence.refundNo);
      if (!seen) throw error;
      return seen;
    }
    await this.event(order.id, 'refund_requested', 'provider', null, `${row.refund_no} ${row.amount}`);
    return row;
  }

  /** A refund's success, once: the order's refunded amount, the reversal of its grant, the refund's record. */
  private async applyRefund(
    trx: Kysely<DB>,
    refund: RefundRow,
    evidence: RefundEvidence,
    eventId: string | null,
  ): Promise<boolean> {
    const now = this.clock.now();
    const settled = { provider_refund_id: evidence.providerRefundId || null, settled_at: now, updated_at: now };
    if (!(await this.repo.moveRefund(refund.id, ['pending', 'failed'], 'succeeded', settled, trx))) return false;
    // A success after a failure (contradictory news): the refund counts again towards what was asked.
    if (refund.status === 'failed') await this.repo.releaseRefund(refund.order_id, -refund.amount, now, trx);
    const order = (await this.repo.find(refund.order_id, trx))!;
    const before = order.refunded_amount;
    const after = before + refund.amount;
    if (!(await this.repo.addRefunded(order.id, refund.amount, after === order.amount, now, trx)))
      throw new AppError('PAYMENT_MISMATCH', { detail: 'refunds would pass the amount paid' });
    const reversal = await this.reverse(trx, order, refund, before, after);
    await this.repo.moveRefund(refund.id, ['succeeded'], 'succeeded', { ...reversal, updated_at: now }, trx);
    const detail = `${refund.refund_no} ${refund.amount}; credits back ${reversal.credits_reversed}, short ${reversal.credits_shortfall}${reversal.plan_effect ? `; plan ${reversal.plan_effect}` : ''}`;
    await this.event(order.id, 'refunded', evidence.via, eventId, detail, trx);
    return true;
  }

  /**
   * What a refund takes back (docs/payments.md, refunds): credits in proportion to the money refunded
   * (all of them once the whole is), never more than the user has available — what was already spent
   * is recorded as the shortfall; a plan's time and its credits only when the whole is refunded.
   */
  private async reverse(
    trx: Kysely<DB>,
    order: OrderRow,
    refund: RefundRow,
    before: number,
    after: number,
  ): Promise<Pick<RefundRow, 'credits_reversed' | 'credits_shortfall' | 'plan_effect'>> {
    if (order.fulfilled_at === null) return { credits_reversed: 0, credits_shortfall: 0, plan_effect: null };
    const movement = {
      kind: 'refund' as const,
      reason: `Refund of order ${order.order_no}`,
      reference: order.id,
      idempotencyKey: `refund:${refund.id}`,
    };
    if (order.kind === 'credits') {
      const share = (paid: number) => Number((BigInt(order.credits) * BigInt(paid)) / BigInt(order.amount));
      const want = share(after) - share(before);
      const taken = want > 0 ? await this.credits.takeBackIn(trx, order.user_id, want, movement) : 0;
      return { credits_reversed: taken, credits_shortfall: want - taken, plan_effect: null };
    }
    if (after < order.amount)
      return { credits_reversed: 0, credits_shortfall: 0, plan_effect: 'kept: a partial refund leaves the plan' };
    const effect = await this.plans.revokeIn(trx, order.user_id, grantKey(order.id), order.plan_days);
    const granted = await this.credits.entryByKey(`plan:${grantKey(order.id)}`, trx);
    const want = granted ? Number(granted.amount) : 0;
    const taken = want > 0 ? await this.credits.takeBackIn(trx, order.user_id, want, movement) : 0;
    return { credits_reversed: taken, credits_shortfall: want - taken, plan_effect: effect };
  }

  /** The order's grant, in the transaction of its move to fulfilled; its key is the order's. */
  private async grant(trx: Kysely<DB>, order: OrderRow): Promise<void> {
    if (order.kind === 'plan') {
      await this.plans.activateIn(trx, {
        mode: 'rule',
        userId: order.user_id,
        planId: order.plan_id!,
        days: order.plan_days ?? undefined,
        source: 'order',
        sourceRef: order.id,
        idempotencyKey: grantKey(order.id),
      });
      return;
    }
    await this.credits.grant(
      order.user_id,
      order.credits,
      { kind: 'recharge', reason: order.description, reference: order.id, idempotencyKey: grantKey(order.id) },
      trx,
    );
  }

  async event(
    orderId: string,
    type: string,
    via: string,
    eventId: string | null,
    detail: string | null,
    trx: Kysely<DB> = this.db,
  ): Promise<void> {
    const now = this.clock.now();
    await this.repo.insertEvent(
      {
        id: newId(now),
        order_id: orderId,
        type,
        via,
        event_id: eventId?.slice(0, 191) ?? null,
        detail: detail?.slice(0, 1000) ?? null,
        created_at: now,
      },
      trx,
    );
  }
}

/** Why the evidence is not a payment of this order, or null when it is. */
function paymentMismatch(order: OrderRow, evidence: PaymentEvidence): string | null {
  if (order.provider !== evidence.provider) return `provider ${evidence.provider}, the order's is ${order.provider}`;
  if (order.currency !== evidence.currency.toUpperCase())
    return `currency ${evidence.currency}, the order's is ${order.currency}`;
  if (order.amount !== evidence.amount) return `amount ${evidence.amount}, the order's is ${order.amount}`;
  if (!evidence.transactionId) return 'no transaction id';
  return null;
}
