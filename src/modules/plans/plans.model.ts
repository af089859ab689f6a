import type { Limits } from '#modules/ratelimit/rate-limiter.ts';

/** What an allowance counts: credits spent, requests made, tokens used (input + output), images made. */
export type AllowanceMetric = 'credits' | 'requests' | 'tokens' | 'images';
/** Calendar windows in CHECKIN_TZ (not rolling): a day from local midnight, an ISO week from Monday, a month from the 1st. */
export type AllowancePeriod = 'day' | 'week' | 'month';

export interface Allowance {
  metric: AllowanceMetric;
  period: AllowancePeriod;
  limit: number;
}

/** What a plan gives (docs/plans.md). A subscription keeps a copy as it was when activated. */
export interface Entitlements {
  /** Credits granted each time the plan is activated (renewals too), in the activation's transaction. */
  creditsOnActivation: number;
  allowances: Allowance[];
  /** Models the plan may call (exact names, or a prefix ending in `*`); null: every model. */
  models: string[] | null;
  /** Replace the role's rate limits while the plan is active; null: the role's. */
  rateLimits: Limits | null;
  /** Times the role's price multiplier, in thousandths (900 = ×0.9). */
  multiplierPermille: number;
}

/** A user's current plan, as the paid-call path and /v1/vip/info read it. */
export interface ActivePlan {
  subscriptionId: string;
  planId: string;
  code: string;
  name: string;
  level: number;
  startedAt: number;
  /** Null: lifetime. */
  expiresAt: number | null;
  terms: Entitlements;
}

export const NO_ENTITLEMENTS: Entitlements = {
  creditsOnActivation: 0,
  allowances: [],
  models: null,
  rateLimits: null,
  multiplierPermille: 1000,
};

/** Whether `model` is on the allow-list (`null`: every model). A `*` at the end matches any rest. */
export function allowsModel(terms: Entitlements, model: string): boolean {
  if (!terms.models) return true;
  return terms.models.some((m) => (m.endsWith('*') ? model.startsWith(m.slice(0, -1)) : m === model));
}

/** Entitlements read from the database (written by Tollgate, so only shape defaults are filled). */
export function parseEntitlements(text: string): Entitlements {
  const value = JSON.parse(text) as Partial<Entitlements>;
  return {
    creditsOnActivation: value.creditsOnActivation ?? 0,
    allowances: value.allowances ?? [],
    models: value.models ?? null,
    rateLimits: value.rateLimits ?? null,
    multiplierPermille: value.multiplierPermille ?? 1000,
  };
}
