import type { Kysely } from 'kysely';
import { longText } from '#core/db/dialect.ts';

/**
 * The Dify proxy (issue 5): Dify apps are channels of kind `dify` (with their app mode and prices), and
 * what each user created through them is recorded with its owner, so nobody reaches another user's
 * conversations, messages, workflow runs or files, and seed 002 reads its conversations locally.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('channels').addColumn('app_mode', 'varchar(32)').execute();
  await db.schema.alterTable('channels').addColumn('prices', 'text').execute();

  await db.schema
    .createTable('dify_conversations')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('dify_conversations_user_idx')
    .on('dify_conversations')
    .columns(['user_id', 'updated_at'])
    .execute();

  await db.schema
    .createTable('dify_messages')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('conversation_id', 'varchar(64)')
    .addColumn('ordinal', 'varchar(36)', (c) => c.notNull())
    .addColumn('task_id', 'varchar(64)')
    .addColumn('query', longText(db), (c) => c.notNull())
    .addColumn('answer', longText(db), (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('rating', 'varchar(8)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('dify_messages_conversation_idx')
    .on('dify_messages')
    .columns(['conversation_id', 'ordinal'])
    .execute();
  await db.schema.createIndex('dify_messages_task_idx').on('dify_messages').column('task_id').execute();

  await db.schema
    .createTable('dify_files')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dify_files').execute();
  await db.schema.dropTable('dify_messages').execute();
  await db.schema.dropTable('dify_conversations').execute();
  await db.schema.alterTable('channels').dropColumn('prices').execute();
  await db.schema.alterTable('channels').dropColumn('app_mode').execute();
}
