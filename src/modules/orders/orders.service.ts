import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import type { DB } from '#core/db/schema.ts';
import { AppError } from '#core/errors.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import { newId } from '#core/ids.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import type {
  Checkout,
  PayChannel,
  PaymentEvidence,
  PaymentProvider,
  PaymentSink,
  ProviderName,
  RefundEvidence,
} from '#modules/payments/payment-provider.ts';
import type { PaymentsRegistry } from '#modules/payments/payments.registry.ts';
import type { PlansService } from '#modules/plans/plans.service.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import { OrderBooks, REFUNDABLE } from './orders.books.ts';
import { priceIn, type CreditPack } from './orders.packs.ts';
import type { OrderFilter, OrdersRepository } from './orders.repository.ts';
import type { OrderEventRow, OrderRow, OrderStatus, RefundRow } from './orders.tables.ts';

export interface OrdersOptions {
  expireMinutes: number;
  queryAfterSeconds: number;
  reconcileIntervalSeconds: number;
  maxPendingPerUser: number;
  packs: CreditPack[];
  recharge: { creditsPerCny: number; minFen: number; maxFen: number };
}

/** What a user buys: a plan (id or code), or credits (a pack, or an amount in fen). */
export type OrderItem = { kind: 'plan'; planId: string } | { kind: 'credits'; packId?: string; amount?: number };

export interface NewOrder {
  userId: string;
  item: OrderItem;
  channel: PayChannel;
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
}

export interface RevenueDay {
  date: string;
  currency: string;
  received: number;
  refunded: number;
  net: number;
}

export interface Revenue {
  byCurrency: Array<{ currency: string; received: number; refunded: number; net: number; orders: number }>;
  days: RevenueDay[];
}

export interface CreatedOrder {
  order: OrderRow;
  checkout: Checkout;
}

/** An order with its refunds and history (the admin's detail). */
export interface OrderDetail {
  order: OrderRow;
  refunds: RefundRow[];
  events: OrderEventRow[];
}

/**
 * Orders (docs/payments.md): an order is made at the server's price (a plan's, a pack's, or an amount
 * within bounds), paid through a provider, and fulfilled, closed or refunded through `OrderBooks`,
 * whose PaymentSink methods this service offers to the providers.
 */
export class OrdersService implements PaymentSink {
  readonly books: OrderBooks;

  constructor(
    db: Kysely<DB>,
    readonly repository: OrdersRepository,
    private readonly plans: PlansService,
    credits: CreditsService,
    private readonly users: UsersService,
    private readonly registry: PaymentsRegistry,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    readonly options: OrdersOptions,
  ) {
    this.books = new OrderBooks(db, repository, plans, credits, clock, log);
  }

  confirmPaid(evidence: PaymentEvidence, eventId: string | null): Promise<'fulfilled' | 'already'> {
    return this.books.confirmPaid(evidence, eventId);
  }

  confirmRefund(evidence: RefundEvidence, eventId: string | null): Promise<'applied' | 'already'> {
    return this.books.confirmRefund(evidence, eventId);
  }

  confirmClosed(provider: ProviderName, orderNo: string, eventId: string | null): Promise<'closed' | 'already'> {
    return this.books.confirmClosed(provider, orderNo, eventId);
  }

  get paymentsEnabled(): boolean {
    return this.registry.enabled;
  }

  /** The channels a payer may choose here (none: payments are off). */
  channels(): PayChannel[] {
    return this.registry.channels();
  }

  /** The first of `preferred` this deployment offers, else the first it offers (none: the first preferred, which answers 503). */
  defaultChannel(preferred: readonly PayChannel[]): PayChannel {
    const offered = this.registry.channels();
    return preferred.find((c) => offered.includes(c)) ?? offered[0] ?? preferred[0]!;
  }

  packs(): CreditPack[] {
    return this.options.packs;
  }

  /**
   * Makes an order at the server's price and asks its provider for a payment. The item is checked
   * first (an unknown plan: 404), then that payments are on (503 PAYMENTS_NOT_CONFIGURED). A plan the
   * level rule would refuse is refused now (409), before anyone pays. When the provider refuses or
   * cannot be reached the order is closed and the error answered: nothing can be paid for it.
   */
  async createOrder(input: NewOrder): Promise<CreatedOrder> {
    const item = await this.resolve(input.item);
    const provider = this.registry.forChannel(input.channel);
    const amount = priceIn(provider.currency, item.cny, item.other);
    if (amount === null) throw new AppError('PRICE_NOT_AVAILABLE', { currency: provider.currency });
    if (item.planRow) await this.plans.assertActivatable(input.userId, item.planRow);
    let payerOpenid: string | undefined;
    if (input.channel === 'wechat_jsapi') {
      const user = await this.users.require(input.userId);
      if (!user.wechat_openid) throw new AppError('WECHAT_NOT_LINKED');
      payerOpenid = user.wechat_openid;
    }
    const max = this.options.maxPendingPerUser;
    if ((await this.repository.countPending(input.userId)) >= max)
      throw new AppError('TOO_MANY_PENDING_ORDERS', { max });

    const now = this.clock.now();
    const id = newId(now);
    const order: OrderRow = {
      id,
      order_no: id.replace(/-/g, ''),
      user_id: input.userId,
      kind: item.kind,
      plan_id: item.planRow?.id ?? null,
      plan_code: item.planRow?.code ?? null,
      plan_days: item.planRow?.duration_days ?? null,
      pack_code: item.packCode,
      credits: item.credits,
      description: item.description.slice(0, 127),
      amount,
      currency: provider.currency,
      provider: provider.name,
      channel: input.channel,
      provider_ref: null,
      transaction_id: null,
      status: 'pending',
      note: null,
      refund_requested: 0,
      refunded_amount: 0,
      expires_at: now + this.options.expireMinutes * 60_000,
      paid_at: null,
      fulfilled_at: null,
      closed_at: null,
      lease_until: null,
      lease_owner: null,
      queries: 0,
      created_at: now,
      updated_at: now,
    };
    await this.repository.insert(order);
    await this.books.event(id, 'created', 'user', null, `${order.amount} ${order.currency} by ${order.channel}`);
    const checkout = await this.checkout(provider, order, input, payerOpenid);
    await this.repository.setProviderRef(id, checkout.providerRef, this.clock.now());
    await this.books.event(id, 'checkout', 'answer', null, checkout.providerRef);
    return { order: (await this.repository.find(id))!, checkout: checkout.checkout };
  }

  private async checkout(provider: PaymentProvider, order: OrderRow, input: NewOrder, payerOpenid?: string) {
    try {
      return await provider.createCheckout(
        {
          orderNo: order.order_no,
          amount: order.amount,
          currency: order.currency,
          description: order.description,
          expiresAt: order.expires_at,
          ...(payerOpenid ? { payerOpenid } : {}),
          ...(input.successUrl ? { successUrl: input.successUrl } : {}),
          ...(input.cancelUrl ? { cancelUrl: input.cancelUrl } : {}),
        },
        input.channel,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.warn({ err: error, orderNo: order.order_no }, 'the provider did not take the order; closed');
      await this.books.close(order, `the provider did not take it: ${reason}`.slice(0, 500), 'checkout');
      if (error instanceof AppError) throw error;
      throw new AppError('PAYMENT_PROVIDER_UNAVAILABLE');
    }
  }

  private async resolve(item: OrderItem) {
    if (item.kind === 'plan') {
      const plan = await this.plans.get(item.planId, { offered: true });
      const other =
        plan.currency && plan.currency_amount !== null
          ? { currency: plan.currency, amount: Number(plan.currency_amount) }
          : null;
      return {
        kind: 'plan' as const,
        planRow: plan,
        packCode: null,
        credits: 0,
        cny: Number(plan.price_fen),
        other,
        description: `VIP ${plan.name}`,
      };
    }
    if (item.packId !== undefined) {
      const pack = this.options.packs.find((p) => p.code === item.packId);
      if (!pack) throw new AppError('CREDIT_PACK_NOT_FOUND');
      return {
        kind: 'credits' as const,
        planRow: null,
        packCode: pack.code,
        credits: pack.credits,
        cny: pack.price,
        other: pack.otherPrice,
        description: `${pack.credits} credits`,
      };
    }
    const { creditsPerCny, minFen, maxFen } = this.options.recharge;
    const amount = item.amount ?? 0;
    const credits = Math.floor((amount * creditsPerCny) / 100);
    if (!Number.isSafeInteger(amount) || amount < minFen || amount > maxFen || credits < 1)
      throw new AppError('RECHARGE_AMOUNT_OUT_OF_RANGE', { min: minFen, max: maxFen });
    return {
      kind: 'credits' as const,
      planRow: null,
      packCode: null,
      credits,
      cny: amount,
      other: null,
      description: `${credits} credits`,
    };
  }

  /** One order of the user's (by id or order number); 404 ORDER_NOT_FOUND for anyone else's. */
  async mine(userId: string, idOrNo: string): Promise<OrderRow> {
    const order = await this.find(idOrNo);
    if (!order || order.user_id !== userId) throw new AppError('ORDER_NOT_FOUND');
    return order;
  }

  async find(idOrNo: string): Promise<OrderRow | undefined> {
    return (await this.repository.find(idOrNo)) ?? (await this.repository.findByNo(idOrNo));
  }

  /** An order with its refunds and history; 404 when none. */
  async detail(idOrNo: string): Promise<OrderDetail> {
    const order = await this.find(idOrNo);
    if (!order) throw new AppError('ORDER_NOT_FOUND');
    const [refunds, events] = await Promise.all([
      this.repository.refundsOf(order.id),
      this.repository.eventsOf(order.id),
    ]);
    return { order, refunds, events };
  }

  /** Orders newest first: page `page`, or (keyset) those before `filter.before`. */
  /** Orders by status: the user's, or everyone's (statistics). */
  countsByStatus(userId?: string): Promise<Map<OrderStatus, number>> {
    return this.repository.countsByStatus(userId);
  }

  list(filter: OrderFilter, page: number, limit: number): Promise<{ rows: OrderRow[]; total: number }> {
    return this.repository.list(filter, filter.before ? 0 : (page - 1) * limit, limit);
  }

  /** The payer gives up a pending order: closed at the provider, then here (a payment that won the race fulfils it). */
  async cancel(userId: string, idOrNo: string): Promise<OrderRow> {
    const order = await this.mine(userId, idOrNo);
    if (order.status !== 'pending') throw new AppError('ORDER_NOT_PAYABLE', { status: order.status });
    await this.closeAtProvider(order, 'cancelled by the payer', 'user');
    return (await this.repository.find(order.id))!;
  }

  /**
   * Closes a pending order at its provider and then here, unless the provider says it was paid
   * meanwhile (a close proves nothing: WeChat answers 204 even for an order it paid), then it is fulfilled.
   */
  async closeAtProvider(order: OrderRow, note: string, via: string): Promise<void> {
    if (!this.registry.has(order.provider)) {
      await this.books.close(order, note, via);
      return;
    }
    const provider = this.registry.provider(order.provider);
    await provider.close(order.order_no, order.provider_ref);
    const state = await provider.query(order.order_no, order.provider_ref);
    if (state.state === 'paid') await this.books.confirmPaid(state.evidence, null);
    else await this.books.close(order, note, via);
  }

  /**
   * An admin refunds `amount` (default: all that is left) of an order, with a reason. The refund is
   * recorded (pending, its own refund number) before the provider is asked; the provider's answer (or
   * its later notification, or the reconcile job asking again with the same number) settles it, and
   * its success reverses the grant once. A refusal by the provider (4xx) fails it and frees the amount.
   */
  async refund(
    idOrNo: string,
    input: { amount?: number | undefined; reason: string; by: string },
  ): Promise<OrderDetail> {
    const order = await this.find(idOrNo);
    if (!order) throw new AppError('ORDER_NOT_FOUND');
    if (!REFUNDABLE.includes(order.status) || !order.transaction_id)
      throw new AppError('ORDER_NOT_REFUNDABLE', { status: order.status });
    const provider = this.registry.provider(order.provider);
    const left = order.amount - order.refund_requested;
    const amount = input.amount ?? left;
    if (amount <= 0 || amount > left) throw new AppError('REFUND_EXCEEDS_PAID', { left });
    const now = this.clock.now();
    if (!(await this.repository.reserveRefund(order.id, amount, REFUNDABLE, now)))
      throw new AppError('REFUND_EXCEEDS_PAID', { left });
    const id = newId(now);
    const row: RefundRow = {
      id,
      order_id: order.id,
      refund_no: `R${id.replace(/-/g, '')}`,
      amount,
      currency: order.currency,
      reason: input.reason.slice(0, 500),
      status: 'pending',
      provider_refund_id: null,
      credits_reversed: 0,
      credits_shortfall: 0,
      plan_effect: null,
      requested_by: input.by.slice(0, 64),
      lease_until: null,
      created_at: now,
      updated_at: now,
      settled_at: null,
    };
    await this.repository.insertRefund(row);
    await this.books.event(order.id, 'refund_requested', 'admin', null, `${row.refund_no} ${amount}: ${input.reason}`);
    await this.askRefund(provider, order, row);
    return this.detail(order.id);
  }

  /** Asks the provider to refund `row` (again: its number makes a retry safe) and applies its answer. */
  async askRefund(provider: PaymentProvider, order: OrderRow, row: RefundRow): Promise<void> {
    let evidence: RefundEvidence;
    try {
      evidence = await provider.refund({
        orderNo: order.order_no,
        refundNo: row.refund_no,
        transactionId: order.transaction_id!,
        total: order.amount,
        amount: row.amount,
        currency: order.currency,
        reason: row.reason,
      });
    } catch (error) {
      if (error instanceof AppError && error.status < 500) {
        await this.books.confirmRefund(
          {
            provider: order.provider,
            orderNo: order.order_no,
            refundNo: row.refund_no,
            providerRefundId: '',
            amount: row.amount,
            currency: order.currency,
            state: 'failed',
            via: 'answer',
          },
          null,
        );
        throw error;
      }
      // No answer: the refund stays pending; the notification or the next reconcile pass settles it.
      this.log.warn({ err: error, refundNo: row.refund_no }, 'refund not answered; it will be asked again');
      return;
    }
    await this.books.confirmRefund(evidence, null);
  }

  /**
   * Money in and out (the admin's statistics, docs/payments.md): per currency over all time, and per
   * calendar day of `timeZone` for the last `days` days. Received: orders paid (fulfilled, or paid and
   * not granted); refunded: refunds that succeeded, on the day they did; net = received − refunded.
   */
  async revenue(timeZone: string, days: number): Promise<Revenue> {
    const now = this.clock.now();
    const since = now - days * 86_400_000;
    const [totals, payments, refunds] = await Promise.all([
      this.repository.totals(),
      this.repository.payments(since),
      this.repository.refunds(since),
    ]);
    const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    const byDay = new Map<string, RevenueDay>();
    const add = (at: number, currency: string, field: 'received' | 'refunded', amount: number) => {
      const date = format.format(at);
      const key = `${date} ${currency}`;
      const day = byDay.get(key) ?? { date, currency, received: 0, refunded: 0, net: 0 };
      day[field] += amount;
      day.net = day.received - day.refunded;
      byDay.set(key, day);
    };
    for (const p of payments) add(p.at, p.currency, 'received', p.amount);
    for (const r of refunds) add(r.at, r.currency, 'refunded', r.amount);
    return {
      byCurrency: totals
        .map((t) => ({ ...t, net: t.received - t.refunded }))
        .sort((a, b) => a.currency.localeCompare(b.currency)),
      days: [...byDay.values()].sort((a, b) => a.date.localeCompare(b.date) || a.currency.localeCompare(b.currency)),
    };
  }

  /** Statuses an order may be listed by. */
  static readonly STATUSES: readonly OrderStatus[] = [
    'pending',
    'paid',
    'fulfilled',
    'closed',
    'partially_refunded',
    'refunded',
  ];

  /** Position of the last row of a page, for the next cursor. */
  static cursorOf(row: OrderRow): CursorPosition {
    return { at: row.created_at, id: row.id };
  }
}
