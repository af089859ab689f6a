import type { Kysely } from 'kysely';

/**
 * The admin audit log (docs/admin.md): one row per admin action that succeeded, written before the
 * answer is sent, never updated or deleted by Tollgate. `actor_user_id` is the admin's account, null
 * for the admin key (`actor_kind` says which); no foreign key, so a row outlives anything it names.
 * `before_json`/`after_json` hold what the action changed (a balance, a role, a price) as JSON text.
 * Indexed for the listing's filters, newest first: by time alone, and by actor, target and action.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('actor_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('actor_user_id', 'varchar(36)')
    .addColumn('action', 'varchar(160)', (c) => c.notNull())
    .addColumn('method', 'varchar(8)', (c) => c.notNull())
    .addColumn('route', 'varchar(255)', (c) => c.notNull())
    .addColumn('params', 'text')
    .addColumn('target_type', 'varchar(32)')
    .addColumn('target_id', 'varchar(128)')
    .addColumn('before_json', 'text')
    .addColumn('after_json', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(64)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_created_idx').on('audit_log').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('audit_log_actor_idx').on('audit_log').columns(['actor_user_id', 'created_at']).execute();
  await db.schema
    .createIndex('audit_log_target_idx')
    .on('audit_log')
    .columns(['target_type', 'target_id', 'created_at'])
    .execute();
  await db.schema.createIndex('audit_log_action_idx').on('audit_log').columns(['action', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
}
