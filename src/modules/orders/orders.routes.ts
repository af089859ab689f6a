import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import { orderPage } from './orders.paging.ts';
import {
  AdminOrderDetailSchema,
  AdminOrderSchema,
  AdminOrdersQuery,
  CreatedOrderSchema,
  NewOrderBody,
  OrderIdParam,
  OrderItemSchema,
  OrdersQuery,
  PackSchema,
  RefundBody,
  toAdminOrder,
  toCreated,
  toOrderEvent,
  toOrderItem,
  toPack,
  toRefundItem,
} from './orders.schemas.ts';
import type { OrderDetail, OrdersService } from './orders.service.ts';

const detailView = (d: OrderDetail) => ({
  ...toAdminOrder(d.order),
  refunds: d.refunds.map(toRefundItem),
  events: d.events.map(toOrderEvent),
});

/** The console's orders (`/api/orders`) and the admin's (`/api/admin/orders`, with refunds). docs/payments.md. */
export function registerOrdersRoutes(app: App, orders: OrdersService): void {
  const security = [{ bearer: [] }];

  app.get(
    '/api/orders/options',
    {
      config: { access: 'public' },
      schema: {
        tags: ['orders'],
        summary: 'What can be bought here and how: the channels offered (none: payments are off) and the credit packs',
        response: {
          200: Type.Object({
            enabled: Type.Boolean(),
            channels: Type.Array(Type.String()),
            packs: Type.Array(PackSchema),
            recharge: Type.Object({ creditsPerCny: Type.Integer(), minFen: Type.Integer(), maxFen: Type.Integer() }),
          }),
        },
      },
    },
    () => ({
      enabled: orders.paymentsEnabled,
      channels: orders.channels(),
      packs: orders.packs().map(toPack),
      recharge: orders.options.recharge,
    }),
  );

  app.post(
    '/api/orders',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'Buy a plan or credits: the order and what the browser needs to pay (a QR code, a Checkout page)',
        body: NewOrderBody,
        response: { 200: CreatedOrderSchema },
      },
    },
    async (request) => {
      const { kind, planId, packId, amount, channel, successUrl, cancelUrl } = request.body;
      if (kind === 'plan' && !planId) throw new AppError('VALIDATION_FAILED', { detail: 'planId is required' });
      if (kind === 'credits' && (packId === undefined) === (amount === undefined))
        throw new AppError('VALIDATION_FAILED', { detail: 'send either packId or amount' });
      const created = await orders.createOrder({
        userId: principalOf(request).userId,
        item: kind === 'plan' ? { kind, planId: planId! } : packId !== undefined ? { kind, packId } : { kind, amount },
        channel: channel ?? orders.defaultChannel(['wechat_native', 'stripe_checkout']),
        successUrl,
        cancelUrl,
      });
      return toCreated(created.order, created.checkout);
    },
  );

  app.get(
    '/api/orders',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'My orders, newest first (page or cursor; status filter)',
        querystring: OrdersQuery,
        response: { 200: CursorPaged(OrderItemSchema) },
      },
    },
    async (request) => {
      const { status, ...paging } = request.query;
      return orderPage(orders, { userId: principalOf(request).userId, status }, paging, toOrderItem);
    },
  );

  app.get(
    '/api/orders/:orderId',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'One of my orders, by id or order number',
        params: OrderIdParam,
        response: { 200: OrderItemSchema },
      },
    },
    async (request) => toOrderItem(await orders.mine(principalOf(request).userId, request.params.orderId)),
  );

  app.post(
    '/api/orders/:orderId/cancel',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'Give up a pending order',
        params: OrderIdParam,
        response: { 200: OrderItemSchema },
      },
    },
    async (request) => toOrderItem(await orders.cancel(principalOf(request).userId, request.params.orderId)),
  );

  app.get(
    '/api/admin/orders',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary:
          'Every order, newest first; search by order id or number, transaction id, provider reference or user id; from/to by when it was made',
        querystring: AdminOrdersQuery,
        response: { 200: CursorPaged(AdminOrderSchema) },
      },
    },
    async (request) => {
      const { status, provider, userId, search, from, to, ...paging } = request.query;
      const made = { from: from ? Date.parse(from) : undefined, to: to ? Date.parse(to) : undefined };
      return orderPage(orders, { status, provider, userId, search, ...made }, paging, toAdminOrder);
    },
  );

  app.get(
    '/api/admin/orders/:orderId',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'An order with its refunds and history',
        params: OrderIdParam,
        response: { 200: AdminOrderDetailSchema },
      },
    },
    async (request) => detailView(await orders.detail(request.params.orderId)),
  );

  app.post(
    '/api/admin/orders/:orderId/refund',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Refund an order in whole or in part, with a reason (kept in the audit log)',
        description:
          'The refund reverses what the order granted once the provider confirms it: credits in proportion (what was already spent is recorded as the shortfall, never a negative balance); a plan’s time and credits when the whole is refunded. docs/payments.md.',
        params: OrderIdParam,
        body: RefundBody,
        response: { 200: AdminOrderDetailSchema },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const before = await orders.detail(request.params.orderId);
      const after = await orders.refund(request.params.orderId, {
        amount: request.body.amount,
        reason: request.body.reason,
        by: principal.via === 'adminkey' ? 'adminkey' : principal.userId,
      });
      const refund = after.refunds.at(-1);
      auditDetail(request, {
        targetType: 'order',
        targetId: after.order.id,
        action: 'order.refund',
        before: { status: before.order.status, refundedAmount: before.order.refunded_amount },
        after: {
          status: after.order.status,
          refundedAmount: after.order.refunded_amount,
          refund: refund && { refundNo: refund.refund_no, amount: refund.amount, status: refund.status },
          reason: request.body.reason,
        },
      });
      return detailView(after);
    },
  );
}
