import type { Kysely, Updateable } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { PlanRow, PlansTable, SubscriptionRow, SubscriptionStatus } from './plans.tables.ts';

/** The SQL of plans and subscriptions (docs/plans.md). */
export class PlansRepository {
  constructor(private readonly db: Kysely<DB>) {}

  listPlans(includeRetired: boolean): Promise<PlanRow[]> {
    let query = this.db.selectFrom('plans').selectAll();
    if (!includeRetired) query = query.where('status', '=', 'active');
    return query.orderBy('sort_order').orderBy('level').orderBy('id').execute();
  }

  findPlan(id: string, db: Kysely<DB> = this.db): Promise<PlanRow | undefined> {
    return db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findPlanByCode(code: string): Promise<PlanRow | undefined> {
    return this.db.selectFrom('plans').selectAll().where('code', '=', code).executeTakeFirst();
  }

  /** The active plans of `level`, cheapest first (an admin may set a user's plan by level). */
  plansAtLevel(level: number): Promise<PlanRow[]> {
    return this.db
      .selectFrom('plans')
      .selectAll()
      .where('level', '=', level)
      .where('status', '=', 'active')
      .orderBy('price_fen')
      .orderBy('id')
      .execute();
  }

  async insertPlan(row: PlanRow): Promise<void> {
    await this.db.insertInto('plans').values(row).execute();
  }

  async updatePlan(id: string, patch: Updateable<PlansTable>): Promise<boolean> {
    const result = await this.db.updateTable('plans').set(patch).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The row marked current for the user (it may have expired: the caller reads `expires_at`). */
  current(userId: string, db: Kysely<DB> = this.db): Promise<SubscriptionRow | undefined> {
    return db.selectFrom('subscriptions').selectAll().where('active_user_id', '=', userId).executeTakeFirst();
  }

  byIdempotencyKey(key: string, db: Kysely<DB> = this.db): Promise<SubscriptionRow | undefined> {
    return db.selectFrom('subscriptions').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  }

  async insertSubscription(row: SubscriptionRow, db: Kysely<DB>): Promise<void> {
    await db.insertInto('subscriptions').values(row).execute();
  }

  /**
   * Ends the user's current row `id` (no longer current, with why and when); false when it was not
   * current any more (another activation got there first: the caller starts again).
   */
  async end(id: string, userId: string, status: SubscriptionStatus, now: number, db: Kysely<DB>): Promise<boolean> {
    const result = await db
      .updateTable('subscriptions')
      .set({ active_user_id: null, status, ended_at: now })
      .where('id', '=', id)
      .where('active_user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Moves the end of the user's current row `id`; false when it is not current any more. */
  async shorten(id: string, userId: string, expiresAt: number, db: Kysely<DB>): Promise<boolean> {
    const result = await db
      .updateTable('subscriptions')
      .set({ expires_at: expiresAt })
      .where('id', '=', id)
      .where('active_user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** How many users hold each plan now (for retiring and the admin's list). */
  async activeCounts(now: number): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('subscriptions')
      .select(['plan_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('active_user_id', 'is not', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .groupBy('plan_id')
      .execute();
    return new Map(rows.map((r) => [r.plan_id, Number(r.n)]));
  }

  /** How many users hold a plan of each level now (seed 003's "VIPs by level"). */
  async activeByLevel(now: number): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('subscriptions')
      .select(['level', (eb) => eb.fn.countAll<number>().as('n')])
      .where('active_user_id', 'is not', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .groupBy('level')
      .execute();
    return new Map(rows.map((r) => [Number(r.level), Number(r.n)]));
  }
}
