import type { Kysely } from 'kysely';

/**
 * What keeps a paid call from taking a balance below zero: the most output tokens one answer of a
 * model can have (null: the shipped default of the model, else that of the `*` row), which a call
 * without an output limit holds for; and, on each usage record, the credits the call cost beyond what
 * was held for it (a Dify app cannot be stopped at a budget, so its call is charged in full).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('model_prices').addColumn('max_output_tokens', 'integer').execute();
  await db.schema
    .alterTable('usage_records')
    .addColumn('overrun', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('overrun').execute();
  await db.schema.alterTable('model_prices').dropColumn('max_output_tokens').execute();
}
