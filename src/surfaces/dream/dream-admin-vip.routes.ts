import type { App } from '#core/http/route-config.ts';
import {
  adminPlanKey,
  cancelUserPlan,
  adminRef,
  IdempotencyHeaders,
  setUserPlan,
  type PlansRouteDeps,
} from '#modules/plans/plans.routes.ts';
import { SetUserPlanBody, SetUserPlanResponse, SubscriptionItem, UserIdParam } from '#modules/plans/plans.schemas.ts';
import { Ok, ok } from './envelope.ts';

/**
 * Seed 003's "Set user VIP (with days or expireAt)" and "Cancel user VIP": the same services as the
 * console's /api/admin/users/:id/plan, in seed 003's envelope. Admins only (session or X-Admin-Key).
 */
export function registerDreamAdminVipRoutes(app: App, deps: PlansRouteDeps): void {
  const { plans, users } = deps;
  const security = [{ bearer: [] }];
  app.put(
    '/v1/admin/users/:id/vip',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "Set a user's VIP: planId (id or code) or level, with days or expireAt",
        params: UserIdParam,
        headers: IdempotencyHeaders,
        body: SetUserPlanBody,
        response: { 200: Ok(SetUserPlanResponse) },
      },
    },
    async (request) => {
      await users.requireLiveAccount(request.params.id);
      const result = await setUserPlan(request, plans, request.params.id, request.body, {
        idempotencyKey: adminPlanKey(request.params.id, request.headers['idempotency-key']),
        ref: adminRef(request),
      });
      return ok(result);
    },
  );

  app.delete(
    '/v1/admin/users/:id/vip',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "Cancel a user's VIP now (404 when there is none)",
        params: UserIdParam,
        response: { 200: Ok(SubscriptionItem) },
      },
    },
    async (request) => {
      await users.requireLiveAccount(request.params.id);
      return ok(await cancelUserPlan(request, plans, request.params.id));
    },
  );
}
