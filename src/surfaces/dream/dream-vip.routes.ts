import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { PlanItem, PurchaseBody, VipInfo } from '#modules/plans/plans.schemas.ts';
import type { PlansService } from '#modules/plans/plans.service.ts';
import { Ok, ok } from './envelope.ts';

/**
 * Seed 003's VIP: the plans offered, the caller's plan with each allowance's use, and purchase — which
 * creates an order once payments exist (the next issue); until then it answers PAYMENTS_NOT_CONFIGURED
 * (503) after checking the plan (an unknown or retired plan is 404). docs/plans.md, docs/seed-003.md.
 */
export function registerDreamVipRoutes(app: App, plans: PlansService): void {
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
        summary: 'Buy a plan (503 PAYMENTS_NOT_CONFIGURED until payments are set up)',
        body: PurchaseBody,
      },
    },
    async (request) => {
      // The plan is checked first (unknown or retired: 404); orders and WeChat Pay come with the payments issue.
      await plans.get(request.body.planId, { offered: true });
      throw new AppError('PAYMENTS_NOT_CONFIGURED');
    },
  );
}
