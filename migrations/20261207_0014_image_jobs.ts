import type { Kysely } from 'kysely';

/**
 * Paid image-generation jobs (docs/image-jobs.md). A row is written before the job is sent upstream and
 * carries everything its settle needs (`held`: the hold and the call's context as JSON), so any instance
 * can settle it, after a restart too. `lease_owner`/`lease_until` claim a job for one instance while it
 * is polled or settled (a conditional update; a lease ends by itself when its instance dies);
 * `next_poll_at` is null once the job is settled, so the poller's index holds only open jobs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('image_jobs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('key_id', 'varchar(36)')
    .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('adapter', 'varchar(32)', (c) => c.notNull())
    .addColumn('upstream_id', 'varchar(191)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('negative_prompt', 'text')
    .addColumn('mode', 'varchar(32)', (c) => c.notNull())
    .addColumn('resolution', 'varchar(16)', (c) => c.notNull())
    .addColumn('image_count', 'integer', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('character_id', 'varchar(36)')
    .addColumn('prompt_template_id', 'varchar(36)')
    .addColumn('param_template_id', 'varchar(36)')
    .addColumn('price_model', 'varchar(100)', (c) => c.notNull())
    .addColumn('credits_held', 'bigint', (c) => c.notNull())
    .addColumn('credits_charged', 'bigint')
    .addColumn('images_made', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('held', 'text', (c) => c.notNull())
    .addColumn('images', 'text')
    .addColumn('error_code', 'varchar(64)')
    .addColumn('error_message', 'varchar(500)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('settled_at', 'bigint')
    .addColumn('next_poll_at', 'bigint')
    .addColumn('lease_owner', 'varchar(36)')
    .addColumn('lease_until', 'bigint')
    .execute();
  await db.schema
    .createIndex('image_jobs_user_created_idx')
    .on('image_jobs')
    .columns(['user_id', 'created_at'])
    .execute();
  await db.schema.createIndex('image_jobs_next_poll_idx').on('image_jobs').column('next_poll_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('image_jobs').execute();
}
