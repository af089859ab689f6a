import type { Selectable } from 'kysely';

export type PlanStatus = 'active' | 'retired';
/** `active`: the current plan (unless its `expires_at` has passed); the rest are history. */
/** `refunded`: the order that bought it was refunded in whole (docs/payments.md). */
export type SubscriptionStatus = 'active' | 'replaced' | 'cancelled' | 'expired' | 'refunded';
/** How a subscription came to be: a redeem code, an admin, a paid order (docs/payments.md). */
export type SubscriptionSource = 'redeem' | 'admin' | 'order';

export interface PlansTable {
  id: string;
  /** The plan's slug (`monthly`), unique: what clients and redeem codes may name it by. */
  code: string;
  name: string;
  description: string | null;
  /** Higher is better: decides upgrades and refusals (docs/plans.md). */
  level: number;
  /** The price in CNY fen (WeChat Pay's unit). */
  price_fen: number;
  /** Optionally the price in another currency, for other payment providers: ISO code and minor units. */
  currency: string | null;
  currency_amount: number | null;
  /** Days a plan runs; null: lifetime. */
  duration_days: number | null;
  /** JSON: string[], the benefits to show. */
  benefits: string;
  /** The English name and benefits (JSON: string[]) for English visitors; null: none (migration 0016). */
  name_en: string | null;
  benefits_en: string | null;
  /** JSON: Entitlements (plans.model.ts). */
  entitlements: string;
  status: PlanStatus;
  sort_order: number;
  created_at: number;
  updated_at: number;
}

export interface SubscriptionsTable {
  id: string;
  user_id: string;
  plan_id: string;
  plan_code: string;
  plan_name: string;
  level: number;
  /** What the plan cost when this was activated (a later price change does not touch it). */
  price_fen: number;
  /** JSON: the plan's Entitlements as they were at activation. */
  terms: string;
  started_at: number;
  /** Null: lifetime. Read against the clock: past it, the plan has ended (no process ends it). */
  expires_at: number | null;
  status: SubscriptionStatus;
  /** The user's id on their current subscription, null on every other: unique, so one active plan per user. */
  active_user_id: string | null;
  source: SubscriptionSource;
  /** The redeem code, the admin, or the order behind it. */
  source_ref: string | null;
  /** One activation per event (docs/money.md, 2. Idempotency): replaying it changes nothing. */
  idempotency_key: string;
  ended_at: number | null;
  created_at: number;
}

export interface PlansTables {
  plans: PlansTable;
  subscriptions: SubscriptionsTable;
}

export type PlanRow = Selectable<PlansTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
