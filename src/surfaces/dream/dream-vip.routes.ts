import { Type } from 'typebox';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { CreatedOrderSchema, PurchaseOrderBody, toCreated } from '#modules/orders/orders.schemas.ts';
import type { OrdersService } from '#modules/orders/orders.service.ts';
import { PlanItem, VipInfo } from '#modules/plans/plans.schemas.ts';
import type { PlansService } from '#modules/plans/plans.service.ts';
import { Ok, ok } from './envelope.ts';

/**
 * Seed 003's VIP: the plans offered, the caller's plan with each allowance's use, and purchase, which
 * makes an order at the plan's price and a payment (WeChat Pay in the mini-program by default).
 * docs/plans.md, docs/payments.md, docs/seed-003.md.
 */
export function registerDreamVipRoutes(app: App, deps: { plans: PlansService; orders: OrdersService }): void {
  const { plans, orders } = deps;
  const security = [{ bearer: [] }];

  app.get(
    '/v1/vip/plans',
    {
      config: { access: 'public' },
      schema: { tags: ['vip'], summary: 'The VIP plans offered', response: { 200: Ok(Type.Array(PlanItem)) } },
    },
    async () => ok(await plans.list()),
  );

  app.get(
    '/v1/vip/info',
    {
      config: { access: 'user' },
      schema: {
        tags: ['vip'],
        security,
        summary: 'My VIP level, expiry and allowances (used, remaining, reset time)',
        response: { 200: Ok(VipInfo) },
      },
    },
    async (request) => ok(await plans.info(principalOf(request).userId)),
  );

  app.post(
    '/v1/vip/purchase',
    {
      config: { access: 'user' },
      schema: {
        tags: ['vip'],
        security,
        summary:
          'Buy a plan: an order at the plan’s price and what the client needs to pay (wx.requestPayment, a QR code, a Checkout page)',
        description:
          'The channel defaults to wechat_jsapi (the mini-program). 404 for an unknown or retired plan, 409 when the level rule refuses the plan now, 503 PAYMENTS_NOT_CONFIGURED when no payment provider is set up.',
        body: PurchaseOrderBody,
        response: { 200: Ok(CreatedOrderSchema) },
      },
    },
    async (request) => {
      const { planId, channel, successUrl, cancelUrl } = request.body;
      const created = await orders.createOrder({
        userId: principalOf(request).userId,
        item: { kind: 'plan', planId },
        channel: channel ?? orders.defaultChannel(['wechat_jsapi']),
        successUrl,
        cancelUrl,
      });
      return ok(toCreated(created.order, created.checkout));
    },
  );
}
