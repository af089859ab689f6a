import type { Kysely } from 'kysely';

/**
 * Plans (seed 003's VIP plans, seed 004's 套餐 with daily/weekly/monthly quotas) and the subscriptions
 * users hold (docs/plans.md). A plan's entitlements — credits granted on activation, allowances per
 * calendar day/week/month, a model allow-list, rate-limit overrides, a price multiplier — are one JSON
 * document (`entitlements`); a subscription copies it (`terms`) with the price when it is activated, so a
 * later change to the plan never touches a subscription already running.
 *
 * `active_user_id` is the user's id on the one subscription that is current (null on every other row):
 * its unique index makes "one active plan per user" hold on every database, whatever races. Expiry is
 * not written by any process: a row whose `expires_at` has passed is read as ended (docs/plans.md).
 *
 * The three plans of seed 003 (Monthly, Yearly, Lifetime) are inserted here, so a new database has them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('plans')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('code', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('description', 'varchar(500)')
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('price_fen', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'varchar(8)')
    .addColumn('currency_amount', 'bigint')
    .addColumn('duration_days', 'integer')
    .addColumn('benefits', 'text', (c) => c.notNull())
    .addColumn('entitlements', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('subscriptions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('plan_id', 'varchar(36)', (c) => c.notNull().references('plans.id'))
    .addColumn('plan_code', 'varchar(64)', (c) => c.notNull())
    .addColumn('plan_name', 'varchar(100)', (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('price_fen', 'bigint', (c) => c.notNull())
    .addColumn('terms', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('active_user_id', 'varchar(36)', (c) => c.unique())
    .addColumn('source', 'varchar(16)', (c) => c.notNull())
    .addColumn('source_ref', 'varchar(64)')
    .addColumn('idempotency_key', 'varchar(191)', (c) => c.notNull().unique())
    .addColumn('ended_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('subscriptions_user_created_idx')
    .on('subscriptions')
    .columns(['user_id', 'created_at'])
    .execute();

  // Seed 004's redeem codes may activate a plan for some days, instead of or besides their credits.
  await db.schema.alterTable('redeem_codes').addColumn('plan_id', 'varchar(36)').execute();
  await db.schema.alterTable('redeem_codes').addColumn('plan_days', 'integer').execute();

  const now = Date.now();
  const rows = SEED_PLANS.map((plan, i) => ({
    id: plan.id,
    code: plan.code,
    name: plan.name,
    description: plan.description,
    level: plan.level,
    price_fen: plan.priceFen,
    currency: null,
    currency_amount: null,
    duration_days: plan.durationDays,
    benefits: JSON.stringify(plan.benefits),
    entitlements: JSON.stringify(plan.entitlements),
    status: 'active',
    sort_order: i + 1,
    created_at: now,
    updated_at: now,
  }));
  await (db as Kysely<{ plans: (typeof rows)[number] }>).insertInto('plans').values(rows).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('redeem_codes').dropColumn('plan_days').execute();
  await db.schema.alterTable('redeem_codes').dropColumn('plan_id').execute();
  await db.schema.dropTable('subscriptions').execute();
  await db.schema.dropTable('plans').execute();
}

/**
 * The three plans of seed 003, as a new database has them (docs/plans.md explains the figures). Fixed ids,
 * so every database names them alike. Allowances count per calendar day/week/month in CHECKIN_TZ.
 */
const SEED_PLANS = [
  {
    id: '00000000-0000-7000-8000-000000000001',
    code: 'monthly',
    name: 'Monthly',
    description: '月度会员 / One month of VIP',
    level: 1,
    priceFen: 2900,
    durationDays: 30,
    benefits: ['每月赠送 3000 积分', '每日 500 次请求', '每日 20 万 Token', '积分消耗 9 折'],
    entitlements: {
      creditsOnActivation: 3000,
      allowances: [
        { metric: 'requests', period: 'day', limit: 500 },
        { metric: 'tokens', period: 'day', limit: 200_000 },
      ],
      models: null,
      rateLimits: null,
      multiplierPermille: 900,
    },
  },
  {
    id: '00000000-0000-7000-8000-000000000002',
    code: 'yearly',
    name: 'Yearly',
    description: '年度会员 / One year of VIP',
    level: 2,
    priceFen: 29900,
    durationDays: 365,
    benefits: ['开通即赠 40000 积分', '每日 1000 次请求', '每日 50 万 Token', '积分消耗 8 折', '更高速率限制'],
    entitlements: {
      creditsOnActivation: 40000,
      allowances: [
        { metric: 'requests', period: 'day', limit: 1000 },
        { metric: 'tokens', period: 'day', limit: 500_000 },
      ],
      models: null,
      rateLimits: { rpm: 120, tpm: 400_000, concurrency: 10, rpd: 0 },
      multiplierPermille: 800,
    },
  },
  {
    id: '00000000-0000-7000-8000-000000000003',
    code: 'lifetime',
    name: 'Lifetime',
    description: '永久会员 / VIP for life',
    level: 3,
    priceFen: 99900,
    durationDays: null,
    benefits: ['开通即赠 100000 积分', '每日 2000 次请求', '每月 3000 万 Token', '积分消耗 7 折', '最高速率限制'],
    entitlements: {
      creditsOnActivation: 100000,
      allowances: [
        { metric: 'requests', period: 'day', limit: 2000 },
        { metric: 'tokens', period: 'month', limit: 30_000_000 },
      ],
      models: null,
      rateLimits: { rpm: 240, tpm: 1_000_000, concurrency: 20, rpd: 0 },
      multiplierPermille: 700,
    },
  },
];
