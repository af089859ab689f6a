import type { Kysely } from 'kysely';

/**
 * Seed 003's gallery and favorites (docs/seed-003.md, Gallery and Favorites).
 *
 * `gallery_images`: an image published to the public gallery. A user's image is one of their uploads
 * (`upload_id`, unique: an upload is published once; `storage_key` is copied so the gallery serves it
 * without reading the uploads table); a seed image has no user and no upload, only `image_url`, a path
 * Tollgate serves from its own files. `like_count` is kept by the statement that adds or removes a
 * like, in the same transaction; `status` is `published`, or `unpublished` once an admin took it down
 * (the row stays, so its owner cannot publish it again).
 * `gallery_likes`: one row per user and image (the primary key is the pair: liking twice adds nothing).
 * `favorites`: a user's favorite image or prompt template, unique per user, type and target.
 *
 * The seed's 2 sample gallery images are inserted here, so a new database has them; `npm run seed`
 * puts back either of them that is missing (by their fixed ids).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gallery_images')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('upload_id', 'varchar(36)', (c) => c.unique())
    .addColumn('storage_key', 'varchar(191)')
    .addColumn('image_url', 'varchar(500)')
    .addColumn('title', 'varchar(100)', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('category', 'varchar(32)', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('like_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('gallery_images_status_created_idx')
    .on('gallery_images')
    .columns(['status', 'created_at'])
    .execute();
  await db.schema
    .createIndex('gallery_images_status_likes_idx')
    .on('gallery_images')
    .columns(['status', 'like_count'])
    .execute();

  await db.schema
    .createTable('gallery_likes')
    .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('gallery_images.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('gallery_likes_pk', ['image_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('favorites')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('target_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('favorites_user_target_uq', ['user_id', 'target_type', 'target_id'])
    .execute();
  await db.schema
    .createIndex('favorites_user_created_idx')
    .on('favorites')
    .columns(['user_id', 'created_at'])
    .execute();

  const seeded = db as Kysely<{ gallery_images: SeedGalleryRow }>;
  await seeded.insertInto('gallery_images').values(seedGalleryRows(Date.now())).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('favorites').execute();
  await db.schema.dropTable('gallery_likes').execute();
  await db.schema.dropTable('gallery_images').execute();
}

export interface SeedGalleryRow {
  id: string;
  user_id: string | null;
  upload_id: string | null;
  storage_key: string | null;
  image_url: string | null;
  title: string;
  prompt: string;
  category: string;
  width: number;
  height: number;
  like_count: number;
  status: 'published' | 'unpublished';
  created_at: number;
  updated_at: number;
}

/** Where Tollgate serves the seed images from its own files (`assets/gallery/`), whatever the storage. */
export const GALLERY_ASSETS_PATH = '/static/gallery';

/** The seed's 2 sample gallery images: files in `assets/gallery/`, fixed ids so every database names them alike. */
export const SEED_GALLERY = [
  {
    id: '00000000-0000-7000-8000-000000000301',
    file: 'sunset-sea.png',
    title: '海上日落',
    prompt: '平静的海面上，一轮夕阳缓缓落下，天空由橙红渐变到金黄，极简扁平插画风格',
    category: 'landscape',
    width: 192,
    height: 256,
  },
  {
    id: '00000000-0000-7000-8000-000000000302',
    file: 'snow-mountains.png',
    title: '雪山晴空',
    prompt: '蓝天下两座覆盖白雪的山峰，山脚是翠绿的草地，简洁的扁平风景插画',
    category: 'landscape',
    width: 256,
    height: 192,
  },
] as const;

/** The seed gallery images as rows, stamped `now` (also what `npm run seed` puts back). */
export function seedGalleryRows(now: number): SeedGalleryRow[] {
  return SEED_GALLERY.map((image, i) => ({
    id: image.id,
    user_id: null,
    upload_id: null,
    storage_key: null,
    image_url: `${GALLERY_ASSETS_PATH}/${image.file}`,
    title: image.title,
    prompt: image.prompt,
    category: image.category,
    width: image.width,
    height: image.height,
    like_count: 0,
    status: 'published',
    // One millisecond apart, so "newest" shows them in a fixed order.
    created_at: now + i,
    updated_at: now + i,
  }));
}
