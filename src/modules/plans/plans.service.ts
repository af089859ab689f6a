import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import { InvalidationBus } from '#core/invalidation.ts';
import { retry } from '#core/retry.ts';
import type { CreditsService } from '#modules/credits/credits.service.ts';
import { decide, type ActivationRequest } from './plans.activation.ts';
import { parseEntitlements, type ActivePlan, type Entitlements } from './plans.model.ts';
import type { PlansRepository } from './plans.repository.ts';
import type { PlanRow, SubscriptionRow, SubscriptionSource } from './plans.tables.ts';
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
    entitlements: parseEntitlements(row.entitlements),
    status: row.status,
    sortOrder: row.sort_order,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
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

  constructor(
    private readonly db: Kysely<DB>,
    private readonly repo: PlansRepository,
    private readonly credits: CreditsService,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
  ) {
    this.cache = new PlanCache(clock, (userId) => this.repo.current(userId));
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

  /** Ends the user's plan now; PLAN_NOT_ACTIVE (404) when there is none. Credits it granted stay. */
  async cancel(userId: string): Promise<SubscriptionRow> {
    const row = await this.currentRow(userId);
    if (!row) throw new AppError('PLAN_NOT_ACTIVE');
    const ended = await this.repo.end(row.id, userId, 'cancelled', this.clock.now(), this.db);
    if (!ended) throw new AppError('PLAN_ACTIVATION_RACE');
    await this.announce(userId);
    return row;
  }

  /** Tells every instance the user's plan changed (after the change is committed). */
  announce(userId: string): Promise<void> {
    return this.bus.publish(`plan:${userId}`);
  }

  /** How many users hold each plan now. */
  subscriberCounts(): Promise<Map<string, number>> {
    return this.repo.activeCounts(this.clock.now());
  }
}

export const isActivationRace = RACED.retryable;
export { RACED as ACTIVATION_RETRY };
