import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { principalOf } from '#core/http/principal.ts';
import type { App } from '#core/http/route-config.ts';
import { auditDetail } from '#modules/admin/audit.ts';
import type { UsersService } from '#modules/users/users.service.ts';
import {
  AdminPlanItem,
  CreatePlanBody,
  IncludeRetiredQuery,
  PlanItem,
  PlanParams,
  SetUserPlanBody,
  SetUserPlanResponse,
  SubscriptionItem,
  UpdatePlanBody,
  UserIdParam,
  VipInfo,
} from './plans.schemas.ts';
import { subscriptionView, type PlansService } from './plans.service.ts';

export interface PlansRouteDeps {
  plans: PlansService;
  users: UsersService;
}

/** Who set a plan, for the subscription's `source_ref`: the admin's id, or `adminkey` (nobody's account). */
export function adminRef(request: Parameters<typeof principalOf>[0]): string {
  return principalOf(request).userId || 'adminkey';
}

/** The idempotency key of an admin's plan change: the request's Idempotency-Key, else a new one. */
export function adminPlanKey(userId: string, header: string | undefined): string {
  return `admin-plan:${userId}:${header ?? newId()}`;
}

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

/** The console's plans (/api/plans) and the admin's (/api/admin/plans, /api/admin/users/:id/plan). docs/plans.md. */
export function registerPlansRoutes(app: App, deps: PlansRouteDeps): void {
  const { plans, users } = deps;
  const security = [{ bearer: [] }];
  // Reading a deleted account's plan is allowed (its detail stays viewable); changing it is not.
  const userExists = async (id: string) => {
    if (!(await users.findById(id))) throw new AppError('NOT_FOUND');
  };

  app.get(
    '/api/plans',
    {
      config: { access: 'public' },
      schema: { tags: ['plans'], summary: 'The plans offered', response: { 200: Type.Array(PlanItem) } },
    },
    () => plans.list(),
  );

  app.get(
    '/api/plans/me',
    {
      config: { access: 'user' },
      schema: {
        tags: ['plans'],
        security,
        summary: 'My plan: level, expiry, each allowance with used, remaining and reset time',
        response: { 200: VipInfo },
      },
    },
    (request) => plans.info(principalOf(request).userId),
  );

  app.get(
    '/api/admin/plans',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Every plan, retired ones too with includeRetired, and how many users hold each',
        querystring: IncludeRetiredQuery,
        response: { 200: Type.Array(AdminPlanItem) },
      },
    },
    async (request) => {
      const [list, counts] = await Promise.all([
        plans.list(request.query.includeRetired ?? false),
        plans.subscriberCounts(),
      ]);
      return list.map((plan) => ({ ...plan, subscribers: counts.get(plan.id) ?? 0 }));
    },
  );

  app.post(
    '/api/admin/plans',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Create a plan',
        body: CreatePlanBody,
        response: { 201: PlanItem },
      },
    },
    async (request, reply) => {
      const plan = await plans.create(request.body);
      auditDetail(request, { targetType: 'plan', targetId: plan.id, before: null, after: plan });
      return reply.status(201).send(plan);
    },
  );

  app.patch(
    '/api/admin/plans/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Change a plan from now on (running subscriptions keep their terms and price)',
        params: PlanParams,
        body: UpdatePlanBody,
        response: { 200: PlanItem },
      },
    },
    async (request) => {
      const plan = await plans.get(request.params.id);
      const { before, after } = await plans.update(plan.id, request.body);
      auditDetail(request, { targetType: 'plan', targetId: plan.id, before, after });
      return after;
    },
  );

  app.delete(
    '/api/admin/plans/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: 'Retire a plan: no longer offered; its subscribers keep theirs',
        params: PlanParams,
        response: { 200: PlanItem },
      },
    },
    async (request) => {
      const plan = await plans.get(request.params.id);
      const { before, after } = await plans.update(plan.id, { status: 'retired' });
      auditDetail(request, { targetType: 'plan', targetId: plan.id, before, after, action: 'plan.retire' });
      return after;
    },
  );

  app.get(
    '/api/admin/users/:id/plan',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "A user's plan and allowances",
        params: UserIdParam,
        response: { 200: VipInfo },
      },
    },
    async (request) => {
      await userExists(request.params.id);
      return plans.info(request.params.id);
    },
  );

  app.put(
    '/api/admin/users/:id/plan',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "Set a user's plan (a plan or a level; for days or until expireAt), replacing the current one",
        params: UserIdParam,
        headers: IdempotencyHeaders,
        body: SetUserPlanBody,
        response: { 200: SetUserPlanResponse },
      },
    },
    async (request) => {
      await users.requireLiveAccount(request.params.id);
      return setUserPlan(request, plans, request.params.id, request.body, {
        idempotencyKey: adminPlanKey(request.params.id, request.headers['idempotency-key']),
        ref: adminRef(request),
      });
    },
  );

  app.delete(
    '/api/admin/users/:id/plan',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        security,
        summary: "End a user's plan now (404 when there is none)",
        params: UserIdParam,
        response: { 200: SubscriptionItem },
      },
    },
    async (request) => {
      await users.requireLiveAccount(request.params.id);
      return cancelUserPlan(request, plans, request.params.id);
    },
  );
}

/** What an admin asks: a plan (id or code) or a level, for `days` or until `expireAt`. */
export interface SetUserPlan {
  planId?: string | undefined;
  level?: number | undefined;
  days?: number | undefined;
  expireAt?: string | undefined;
}

/** An admin ends a user's plan (both surfaces); the audit row has the subscription that ended. */
export async function cancelUserPlan(request: FastifyRequest, plans: PlansService, userId: string) {
  const ended = subscriptionView(await plans.cancel(userId));
  auditDetail(request, { targetType: 'user', targetId: userId, before: { plan: ended }, after: { plan: null } });
  return ended;
}

/**
 * An admin sets a user's plan (both surfaces): it replaces the current one, with the credits it grants.
 * The audit row has the plan before and after, and the credits granted.
 */
export async function setUserPlan(
  request: FastifyRequest,
  plans: PlansService,
  userId: string,
  body: SetUserPlan,
  origin: { idempotencyKey: string; ref: string },
) {
  if ((body.planId === undefined) === (body.level === undefined))
    throw new AppError('VALIDATION_FAILED', { detail: 'give planId or level, not both' });
  if (body.days !== undefined && body.expireAt !== undefined)
    throw new AppError('VALIDATION_FAILED', { detail: 'give days or expireAt, not both' });
  const plan = body.planId !== undefined ? await plans.get(body.planId) : await plans.atLevel(body.level!);
  const current = await plans.currentRow(userId);
  const result = await plans.activate({
    userId,
    planId: plan.id,
    mode: 'set',
    days: body.days,
    expiresAt: body.expireAt === undefined ? undefined : Date.parse(body.expireAt),
    source: 'admin',
    sourceRef: origin.ref,
    idempotencyKey: origin.idempotencyKey,
  });
  const answer = {
    applied: result.applied,
    creditsGranted: result.creditsGranted,
    subscription: subscriptionView(result.subscription),
  };
  auditDetail(request, {
    targetType: 'user',
    targetId: userId,
    before: { plan: current ? subscriptionView(current) : null },
    after: { plan: answer.subscription, applied: answer.applied, creditsGranted: answer.creditsGranted },
  });
  return answer;
}
