import { CursorPaged } from '#core/http/pagination.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { orderPage } from '#modules/orders/orders.paging.ts';
import { OrderIdParam, OrderItemSchema, OrdersQuery, toOrderItem } from '#modules/orders/orders.schemas.ts';
import type { OrdersService } from '#modules/orders/orders.service.ts';
import { Ok, ok } from './envelope.ts';

/**
 * Seed 003's orders: the caller's own, newest first (page or cursor, status filter), one by id or order
 * number, and giving up a pending one. Another user's order is 404. docs/payments.md.
 */
export function registerDreamOrdersRoutes(app: App, orders: OrdersService): void {
  const security = [{ bearer: [] }];

  app.get(
    '/v1/orders',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'My orders, newest first (page or cursor; status filter)',
        querystring: OrdersQuery,
        response: { 200: Ok(CursorPaged(OrderItemSchema)) },
      },
    },
    async (request) => {
      const { status, ...paging } = request.query;
      return ok(await orderPage(orders, { userId: principalOf(request).userId, status }, paging, toOrderItem));
    },
  );

  app.get(
    '/v1/orders/:orderId',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'One of my orders, by id or order number',
        params: OrderIdParam,
        response: { 200: Ok(OrderItemSchema) },
      },
    },
    async (request) => ok(toOrderItem(await orders.mine(principalOf(request).userId, request.params.orderId))),
  );

  app.post(
    '/v1/orders/:orderId/cancel',
    {
      config: { access: 'user' },
      schema: {
        tags: ['orders'],
        security,
        summary: 'Give up a pending order (closed at the provider; a payment that won the race is kept and fulfilled)',
        params: OrderIdParam,
        response: { 200: Ok(OrderItemSchema) },
      },
    },
    async (request) => ok(toOrderItem(await orders.cancel(principalOf(request).userId, request.params.orderId))),
  );
}
