import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { InvalidationBus } from '#core/invalidation.ts';
import type { KeyValueStore } from '#core/kv.ts';
import { retry } from '#core/retry.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import { allowanceStates, type AllowanceState } from '#modules/ratelimit/allowances.ts';
import { CalendarWindows } from './calendar.ts';
import { decide, type ActivationRequest } from './plans.activation.ts';
import { NO_ENTITLEMENTS, parseEntitlements, type ActivePlan, type Entitlements } from './plans.model.ts';
import type { PlansRepository } from './plans.repository.ts';
import type { PlanRow, PlansTable, SubscriptionRow, SubscriptionSource } from './plans.tables.ts';
import { activePlanOf, PlanCache } from './plan-cache.ts';

export { activePlanOf };

export interface Activation extends ActivationRequest {
  userId: string;
  planId: string;
  source: SubscriptionSource;
  sourceRef: string | null;
  /** The event's key (a redeem code + user, an admin request, an order): replaying it changes nothing. */
  idempotencyKey: string;
}

export interface ActivationResult {
  /** False when this event had been applied before: nothing changed. */
  applied: boolean;
  subscription: SubscriptionRow;
  creditsGranted: number;
}

export interface VipInfo {
  isVip: boolean;
  level: number;
  plan: { id: string; code: string; name: string; level: number } | null;
  startedAt: string | null;
  expiresAt: string | null;
  lifetime: boolean;
  daysLeft: number | null;
  allowances: AllowanceState[];
  models: string[] | null;
  rateLimits: Entitlements['rateLimits'];
  multiplierPermille: number;
}

/** What an admin sets on a plan (every field optional on update). */
export interface PlanInput {
  name?: string | undefined;
  description?: string | null | undefined;
  level?: number | undefined;
  price?: number | undefined;
  otherPrice?: { currency: string; amount: number } | null | undefined;
  durationDays?: number | null | undefined;
  benefits?: string[] | undefined;
  /** The English name and benefits; null removes them. */
  nameEn?: string | null | undefined;
  benefitsEn?: string[] | null | undefined;
  entitlements?: Partial<Entitlements> | undefined;
  sortOrder?: number | undefined;
}

/** A subscription as admins see it. */
export function subscriptionView(row: SubscriptionRow) {
  return {
    id: row.id,
    userId: row.user_id,
    planId: row.plan_id,
    planCode: row.plan_code,
    planName: row.plan_name,
    level: row.level,
    price: Number(row.price_fen),
    startedAt: new Date(Number(row.started_at)).toISOString(),
    expiresAt: row.expires_at === null ? null : new Date(Number(row.expires_at)).toISOString(),
    status: row.status,
    source: row.source,
    entitlements: parseEntitlements(row.terms),
  };
}

/** A plan as listed to users and admins. */
export interface PlanView {
  id: string;
  code: string;
  name: string;
  description: string | null;
  level: number;
  /** CNY fen. */
  price: number;
  currency: 'CNY';
  otherPrice: { currency: string; amount: number } | null;
  /** Null: lifetime. */
  durationDays: number | null;
  lifetime: boolean;
  benefits: string[];
  /** The English name and benefits, when the plan has them (English visitors see these). */
  nameEn: string | null;
  benefitsEn: string[] | null;
  entitlements: Entitlements;
  status: 'active' | 'retired';
  sortOrder: number;
  createdAt: string;
  updatedAt: string;
}

export function planView(row: PlanRow): PlanView {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    description: row.description,
    level: row.level,
    price: Number(row.price_fen),
    currency: 'CNY',
    otherPrice:
      row.currency && row.currency_amount !== null
        ? { currency: row.currency, amount: Number(row.currency_amount) }
        : null,
    durationDays: row.duration_days,
    lifetime: row.duration_days === null,
    benefits: JSON.parse(row.benefits) as string[],
    nameEn: row.name_en,
    benefitsEn: row.benefits_en === null ? null : (JSON.parse(row.benefits_en) as string[]),
    entitlements: parseEntitlements(row.entitlements),
    status: row.status,
    sortOrder: row.sort_order,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

/** English benefits as stored: none (absent, null or empty) is null, so the plan's own lines show. */
function englishBenefits(lines: string[] | null | undefined): string | null {
  return lines?.length ? JSON.stringify(lines) : null;
}

/** An activation raced another of the same user: the whole transaction is run again (and then sees it). */
const RACED = {
  attempts: 5,
  retryable: (error: unknown) =>
    isUniqueViolation(error) || (error instanceof AppError && error.code === 'PLAN_ACTIVATION_RACE'),
  pause: (attempt: number) => 5 * attempt + Math.random() * 10,
};

/**
 * Plans and the subscriptions users hold (docs/plans.md). A user's current plan is cached on each
 * instance, dropped on every instance when it changes (`plan:<userId>` on the invalidation bus), and
 * its end is read against the clock at every use, so a plan ends on time everywhere with no process
 * needed at that moment.
 */
export class PlansService {
  private readonly cache: PlanCache;
  private readonly windows: CalendarWindows;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: PlansRepository,
    private readonly credits: CreditsService,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
    private readonly usage: { kv: KeyValueStore; timeZone: string },
  ) {
    this.cache = new PlanCache(clock, (userId) => this.repo.current(userId));
    this.windows = new CalendarWindows(usage.timeZone);
    bus.subscribe((topic) => {
      if (topic === InvalidationBus.EVERYTHING) this.cache.clear();
      else if (topic.startsWith('plan:')) this.cache.drop(topic.slice(5));
      else if (topic.startsWith('user:')) this.cache.drop(topic.slice(5));
    });
  }

  async list(includeRetired = false): Promise<PlanView[]> {
    return (await this.repo.listPlans(includeRetired)).map(planView);
  }

  /** A plan by id or code; PLAN_NOT_FOUND (404) when none, or when it is retired and `offered` is asked. */
  async get(idOrCode: string, options: { offered?: boolean } = {}): Promise<PlanRow> {
    const row = (await this.repo.findPlan(idOrCode)) ?? (await this.repo.findPlanByCode(idOrCode));
    if (!row || (options.offered && row.status !== 'active')) throw new AppError('PLAN_NOT_FOUND');
    return row;
  }

  /** The cheapest active plan of `level` (an admin may name a level instead of a plan). */
  async atLevel(level: number): Promise<PlanRow> {
    const [row] = await this.repo.plansAtLevel(level);
    if (!row) throw new AppError('PLAN_NOT_FOUND');
    return row;
  }

  /** The user's current plan, or null (none, cancelled, or past its end at this moment). */
  activePlan(userId: string): Promise<ActivePlan | null> {
    return this.cache.get(userId);
  }

  /** The plan's time ends now? Read from the database, not the cache (admin views, /v1/vip/info). */
  async currentRow(userId: string): Promise<SubscriptionRow | null> {
    const row = await this.repo.current(userId);
    if (!row || (row.expires_at !== null && Number(row.expires_at) <= this.clock.now())) return null;
    return row;
  }

  /**
   * Activates a plan for a user, with the credits it grants, in one transaction, once per idempotency
   * key (docs/money.md, 2. Idempotency). Announced to every instance once committed.
   */
  async activate(activation: Activation): Promise<ActivationResult> {
    const result = await retry(() => transact(this.db, (trx) => this.activateIn(trx, activation)), RACED);
    if (result.applied) await this.announce(activation.userId);
    return result;
  }

  /**
   * The activation inside the caller's transaction (a redemption's). The caller runs it again on
   * `isActivationRace` and announces the change (`announce`) after its commit.
   */
  async activateIn(trx: Kysely<DB>, activation: Activation): Promise<ActivationResult> {
    const seen = await this.repo.byIdempotencyKey(activation.idempotencyKey, trx);
    if (seen) return { applied: false, subscription: seen, creditsGranted: 0 };
    const plan = await this.repo.findPlan(activation.planId, trx);
    if (!plan) throw new AppError('PLAN_NOT_FOUND');
    const now = this.clock.now();
    const current = await this.repo.current(activation.userId, trx);
    const change = decide(plan, current, activation, now);
    if (current && change.endCurrentAs) {
      const ended = await this.repo.end(current.id, activation.userId, change.endCurrentAs, now, trx);
      if (!ended) throw new AppError('PLAN_ACTIVATION_RACE');
    }
    const terms = parseEntitlements(plan.entitlements);
    const subscription: SubscriptionRow = {
      id: newId(now),
      user_id: activation.userId,
      plan_id: plan.id,
      plan_code: plan.code,
      plan_name: plan.name,
      level: plan.level,
      price_fen: plan.price_fen,
      terms: JSON.stringify(terms),
      started_at: change.startedAt,
      expires_at: change.expiresAt,
      status: 'active',
      active_user_id: activation.userId,
      source: activation.source,
      source_ref: activation.sourceRef,
      idempotency_key: activation.idempotencyKey,
      ended_at: null,
      created_at: now,
    };
    await this.repo.insertSubscription(subscription, trx);
    if (terms.creditsOnActivation > 0) {
      await this.credits.grant(
        activation.userId,
        terms.creditsOnActivation,
        {
          kind: 'plan',
          reason: `Plan ${plan.name}`,
          reference: subscription.id,
          idempotencyKey: `plan:${activation.idempotencyKey}`,
        },
        trx,
      );
    }
    return { applied: true, subscription, creditsGranted: terms.creditsOnActivation };
  }

  /**
   * Throws what the level rule would answer if `plan` were activated for the user now (409
   * PLAN_CHANGE_REFUSED, PLAN_ALREADY_LIFETIME): an order is refused before the payer pays, not after.
   */
  async assertActivatable(userId: string, plan: PlanRow): Promise<void> {
    decide(plan, await this.repo.current(userId), { mode: 'rule' }, this.clock.now());
  }

  /**
   * Takes back, in the caller's transaction, the time an order bought (its whole refund): the user's
   * current plan ends `days` earlier, or now when that is already past or the order bought a lifetime
   * plan that is still current. A lifetime plan the user took later is kept. Answers what happened, for
   * the refund's record; the caller announces the change after its commit. A race with another
   * activation throws PLAN_ACTIVATION_RACE (the caller runs its transaction again).
   */
  async revokeIn(trx: Kysely<DB>, userId: string, idempotencyKey: string, days: number | null): Promise<string> {
    const own = await this.repo.byIdempotencyKey(idempotencyKey, trx);
    if (!own) return 'no plan was activated';
    const now = this.clock.now();
    const current = await this.repo.current(userId, trx);
    if (!current || (current.expires_at !== null && current.expires_at <= now)) return 'the plan had ended already';
    if (current.expires_at === null && (current.id !== own.id || days !== null))
      return `kept: the current plan ${current.plan_name} is for life`;
    const end = days === null || current.expires_at === null ? now : current.expires_at - days * 86_400_000;
    if (end <= now) {
      if (!(await this.repo.end(current.id, userId, 'refunded', now, trx))) throw new AppError('PLAN_ACTIVATION_RACE');
      return `ended: ${current.plan_name}`;
    }
    if (!(await this.repo.shorten(current.id, userId, end, trx))) throw new AppError('PLAN_ACTIVATION_RACE');
    return `shortened by ${days} days: ${current.plan_name} now ends ${new Date(end).toISOString()}`;
  }

  /** Ends the user's plan now; PLAN_NOT_ACTIVE (404) when there is none. Credits it granted stay. */
  async cancel(userId: string): Promise<SubscriptionRow> {
    const row = await this.currentRow(userId);
    if (!row) throw new AppError('PLAN_NOT_ACTIVE');
    const ended = await this.repo.end(row.id, userId, 'cancelled', this.clock.now(), this.db);
    if (!ended) throw new AppError('PLAN_ACTIVATION_RACE');
    await this.announce(userId);
    return row;
  }

  /** The user's plan as /v1/vip/info and /api/plans/me show it: level, end, each allowance's use and reset. */
  async info(userId: string): Promise<VipInfo> {
    const now = this.clock.now();
    const row = await this.currentRow(userId);
    if (!row) {
      return {
        isVip: false,
        level: 0,
        plan: null,
        startedAt: null,
        expiresAt: null,
        lifetime: false,
        daysLeft: null,
        allowances: [],
        models: null,
        rateLimits: null,
        multiplierPermille: 1000,
      };
    }
    const plan = activePlanOf(row);
    const { terms } = plan;
    return {
      isVip: true,
      level: plan.level,
      plan: { id: plan.planId, code: plan.code, name: plan.name, level: plan.level },
      startedAt: new Date(plan.startedAt).toISOString(),
      expiresAt: plan.expiresAt === null ? null : new Date(plan.expiresAt).toISOString(),
      lifetime: plan.expiresAt === null,
      daysLeft: plan.expiresAt === null ? null : Math.ceil((plan.expiresAt - now) / 86_400_000),
      allowances: await allowanceStates(this.usage.kv, userId, terms.allowances, now, this.windows),
      models: terms.models,
      rateLimits: terms.rateLimits,
      multiplierPermille: terms.multiplierPermille,
    };
  }

  /** A new plan (admin); PLAN_CODE_TAKEN (409) when its code is. */
  async create(input: PlanInput & { code: string; name: string; level: number; price: number }): Promise<PlanView> {
    const now = this.clock.now();
    if (await this.repo.findPlanByCode(input.code)) throw new AppError('PLAN_CODE_TAKEN', { code: input.code });
    const row: PlanRow = {
      id: newId(now),
      code: input.code,
      name: input.name,
      description: input.description ?? null,
      level: input.level,
      price_fen: input.price,
      currency: input.otherPrice?.currency ?? null,
      currency_amount: input.otherPrice?.amount ?? null,
      duration_days: input.durationDays ?? null,
      benefits: JSON.stringify(input.benefits ?? []),
      name_en: input.nameEn ?? null,
      benefits_en: englishBenefits(input.benefitsEn),
      entitlements: JSON.stringify({ ...NO_ENTITLEMENTS, ...input.entitlements }),
      status: 'active',
      sort_order: input.sortOrder ?? 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.repo.insertPlan(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('PLAN_CODE_TAKEN', { code: input.code });
      throw error;
    }
    return planView(row);
  }

  /**
   * Changes a plan (admin): what it offers from now on. Subscriptions already running keep the terms
   * and price they were activated with. Retiring (`status: 'retired'`) stops offering it; its
   * subscribers keep theirs. Answers the plan before and after.
   */
  async update(
    id: string,
    input: PlanInput & { status?: 'active' | 'retired' },
  ): Promise<{ before: PlanView; after: PlanView }> {
    const row = await this.repo.findPlan(id);
    if (!row) throw new AppError('PLAN_NOT_FOUND');
    const patch: Partial<PlansTable> = { updated_at: this.clock.now() };
    if (input.name !== undefined) patch.name = input.name;
    if (input.description !== undefined) patch.description = input.description;
    if (input.level !== undefined) patch.level = input.level;
    if (input.price !== undefined) patch.price_fen = input.price;
    if (input.otherPrice !== undefined) {
      patch.currency = input.otherPrice?.currency ?? null;
      patch.currency_amount = input.otherPrice?.amount ?? null;
    }
    if (input.durationDays !== undefined) patch.duration_days = input.durationDays;
    if (input.benefits !== undefined) patch.benefits = JSON.stringify(input.benefits);
    if (input.nameEn !== undefined) patch.name_en = input.nameEn;
    if (input.benefitsEn !== undefined) patch.benefits_en = englishBenefits(input.benefitsEn);
    if (input.entitlements !== undefined)
      patch.entitlements = JSON.stringify({ ...parseEntitlements(row.entitlements), ...input.entitlements });
    if (input.sortOrder !== undefined) patch.sort_order = input.sortOrder;
    if (input.status !== undefined) patch.status = input.status;
    await this.repo.updatePlan(id, patch);
    return { before: planView(row), after: planView({ ...row, ...patch }) };
  }

  /** Tells every instance the user's plan changed (after the change is committed). */
  announce(userId: string): Promise<void> {
    return this.bus.publish(`plan:${userId}`);
  }

  /** How many users hold each plan now. */
  subscriberCounts(): Promise<Map<string, number>> {
    return this.repo.activeCounts(this.clock.now());
  }

  /** How many users hold a plan of each level now. */
  subscribersByLevel(): Promise<Map<number, number>> {
    return this.repo.activeByLevel(this.clock.now());
  }
}

export const isActivationRace = RACED.retryable;
export { RACED as ACTIVATION_RETRY };
