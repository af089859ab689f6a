import type { Kysely } from 'kysely';

/**
 * A plan's English name and benefits (docs/plans.md, Languages). A plan holds its lines in one language
 * (`name`, `benefits`); `name_en` and `benefits_en` (JSON: string[]) are the optional English ones, shown
 * to English visitors, who otherwise see the plan's own. Null: none.
 *
 * The three seed plans get English lines here, where their benefits are still the seed's (an admin who
 * rewrote them writes the English too).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('plans').addColumn('name_en', 'varchar(100)').execute();
  await db.schema.alterTable('plans').addColumn('benefits_en', 'text').execute();

  const plans = db as Kysely<{
    plans: { id: string; benefits: string; name_en: string | null; benefits_en: string | null };
  }>;
  for (const seed of SEED_TRANSLATIONS) {
    await plans
      .updateTable('plans')
      .set({ name_en: seed.nameEn, benefits_en: JSON.stringify(seed.benefitsEn) })
      .where('id', '=', seed.id)
      .where('benefits', '=', JSON.stringify(seed.benefits))
      .where('name_en', 'is', null)
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('plans').dropColumn('benefits_en').execute();
  await db.schema.alterTable('plans').dropColumn('name_en').execute();
}

/** The seed plans' benefits as migration 0010 wrote them, and their English. */
const SEED_TRANSLATIONS = [
  {
    id: '00000000-0000-7000-8000-000000000001',
    benefits: ['每月赠送 3000 积分', '每日 500 次请求', '每日 20 万 Token', '积分消耗 9 折'],
    nameEn: 'Monthly',
    benefitsEn: ['3,000 bonus credits a month', '500 requests a day', '200,000 tokens a day', 'Calls cost 10% less'],
  },
  {
    id: '00000000-0000-7000-8000-000000000002',
    benefits: ['开通即赠 40000 积分', '每日 1000 次请求', '每日 50 万 Token', '积分消耗 8 折', '更高速率限制'],
    nameEn: 'Yearly',
    benefitsEn: [
      '40,000 bonus credits on activation',
      '1,000 requests a day',
      '500,000 tokens a day',
      'Calls cost 20% less',
      'Higher rate limits',
    ],
  },
  {
    id: '00000000-0000-7000-8000-000000000003',
    benefits: ['开通即赠 100000 积分', '每日 2000 次请求', '每月 3000 万 Token', '积分消耗 7 折', '最高速率限制'],
    nameEn: 'Lifetime',
    benefitsEn: [
      '100,000 bonus credits on activation',
      '2,000 requests a day',
      '30 million tokens a month',
      'Calls cost 30% less',
      'The highest rate limits',
    ],
  },
];
