import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('checkins')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('checkin_date', 'varchar(10)', (c) => c.notNull())
    .addColumn('credit_earned', 'bigint', (c) => c.notNull())
    .addColumn('consecutive_days', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('checkins_user_date_unique', ['user_id', 'checkin_date'])
    .execute();

  await db.schema
    .createTable('redeem_codes')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('batch_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('code_sealed', 'varchar(255)', (c) => c.notNull())
    .addColumn('credits', 'bigint', (c) => c.notNull())
    .addColumn('max_uses', 'integer', (c) => c.notNull())
    .addColumn('used_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .addColumn('note', 'varchar(255)')
    .addColumn('created_by', 'varchar(36)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('redeem_codes_batch_idx').on('redeem_codes').column('batch_id').execute();
  await db.schema.createIndex('redeem_codes_created_idx').on('redeem_codes').column('created_at').execute();

  await db.schema
    .createTable('redemptions')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('code_id', 'varchar(36)', (c) => c.notNull().references('redeem_codes.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('credits', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('redemptions_code_user_unique', ['code_id', 'user_id'])
    .execute();
  await db.schema.createIndex('redemptions_user_idx').on('redemptions').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('redemptions').execute();
  await db.schema.dropTable('redeem_codes').execute();
  await db.schema.dropTable('checkins').execute();
}
