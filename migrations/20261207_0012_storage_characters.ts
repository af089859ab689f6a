import type { Kysely } from 'kysely';

/**
 * Object storage and face-lock characters (docs/storage.md, docs/seed-003.md).
 *
 * `uploads`: an image a user uploaded, by its object key and what its bytes were sniffed as.
 * `characters`: a user's saved face (锁脸角色) with `photo_count`, the number of its photos, raised by a
 * conditional update (`photo_count < max`) in the same transaction that inserts a photo, so racing
 * uploads never keep more than the maximum on any database. `character_photos`: an uploaded photo (its
 * object `storage_key`) or one added by URL (`url`, stored as given; no object).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('storage_key', 'varchar(191)', (c) => c.notNull().unique())
    .addColumn('content_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uploads_user_created_idx').on('uploads').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('characters')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('description', 'varchar(1000)')
    .addColumn('photo_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('characters_user_created_idx')
    .on('characters')
    .columns(['user_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('character_photos')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('character_id', 'varchar(36)', (c) => c.notNull().references('characters.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('storage_key', 'varchar(191)', (c) => c.unique())
    .addColumn('url', 'varchar(2048)')
    .addColumn('content_type', 'varchar(64)')
    .addColumn('size_bytes', 'bigint')
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('character_photos_character_idx')
    .on('character_photos')
    .columns(['character_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('character_photos').execute();
  await db.schema.dropTable('characters').execute();
  await db.schema.dropTable('uploads').execute();
}
