import type { Clock } from '#core/clock.ts';
import { parseEntitlements, type ActivePlan } from './plans.model.ts';
import type { SubscriptionRow } from './plans.tables.ts';

/**
 * Each instance's copy of users' current plans, read on every paid call. Dropped for a user when their
 * plan changes anywhere (the invalidation bus); kept at most `ttlMs` besides (an announcement lost while
 * Redis was away). The plan's end is checked against the clock at every read, so an expired plan is
 * never used, cached or not.
 */
export class PlanCache {
  private readonly entries = new Map<string, { row: ActivePlan | null; until: number }>();
  private readonly loading = new Map<string, Promise<ActivePlan | null>>();
  /** Counts drops: a load that began before one must not cache what it read. */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly load: (userId: string) => Promise<SubscriptionRow | undefined>,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 50_000,
  ) {}

  async get(userId: string): Promise<ActivePlan | null> {
    const entry = this.entries.get(userId);
    const plan = entry && entry.until > Date.now() ? entry.row : await this.fetch(userId);
    return plan && (plan.expiresAt === null || plan.expiresAt > this.clock.now()) ? plan : null;
  }

  private fetch(userId: string): Promise<ActivePlan | null> {
    const running = this.loading.get(userId);
    if (running) return running;
    const generation = this.generation;
    const loading = this.load(userId)
      .then((row) => {
        const plan = row ? activePlanOf(row) : null;
        if (generation === this.generation) {
          if (this.entries.size >= this.maxEntries) {
            const oldest = this.entries.keys().next().value;
            if (oldest !== undefined) this.entries.delete(oldest);
          }
          this.entries.set(userId, { row: plan, until: Date.now() + this.ttlMs });
        }
        return plan;
      })
      .finally(() => this.loading.delete(userId));
    this.loading.set(userId, loading);
    return loading;
  }

  drop(userId: string): void {
    this.generation += 1;
    this.entries.delete(userId);
    this.loading.delete(userId);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.loading.clear();
  }
}

export function activePlanOf(row: SubscriptionRow): ActivePlan {
  return {
    subscriptionId: row.id,
    planId: row.plan_id,
    code: row.plan_code,
    name: row.plan_name,
    level: row.level,
    startedAt: Number(row.started_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    terms: parseEntitlements(row.terms),
  };
}
