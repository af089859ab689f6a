import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { DialectCapabilities } from '#core/db/dialect.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import { olderThan } from '#core/db/keyset.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { GalleryImageRow, GalleryImagesTable } from './gallery.tables.ts';

export type GallerySort = 'newest' | 'popular';

export interface GalleryFilter {
  category?: string | undefined;
  sort: GallerySort;
  /** The last row of the previous page (keyset), in the list's own order. */
  after?: CursorPosition | undefined;
}

/** The value of the row that a cursor records for `sort` (the keyset's first column). */
export function sortValue(sort: GallerySort, row: { like_count: number; created_at: number }): number {
  return Number(sort === 'popular' ? row.like_count : row.created_at);
}

/** The rows after `cursor`: most liked first then the id (popular), or newest first (olderThan). */
function after(sort: GallerySort, cursor: CursorPosition): RawBuilder<SqlBool> {
  if (sort === 'newest') return olderThan(cursor);
  const likes = sql.ref('like_count');
  const id = sql.ref('id');
  return sql<SqlBool>`(${likes} < ${cursor.at} or (${likes} = ${cursor.at} and ${id} < ${cursor.id}))`;
}

/** An author's public fields only: the query never reads an email, phone or openid. */
export interface AuthorRow {
  id: string;
  nickname: string | null;
  avatar_url: string | null;
}

/** The SQL of the gallery: images, likes and the counters they keep. */
export class GalleryRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectCapabilities,
  ) {}

  async list(
    filter: GalleryFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: GalleryImageRow[]; total: number }> {
    let rows = this.db.selectFrom('gallery_images').selectAll().where('status', '=', 'published');
    let count = this.db
      .selectFrom('gallery_images')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'published');
    if (filter.category !== undefined) {
      rows = rows.where('category', '=', filter.category);
      count = count.where('category', '=', filter.category);
    }
    if (filter.after) rows = rows.where(after(filter.sort, filter.after));
    rows = rows.orderBy(filter.sort === 'popular' ? 'like_count' : 'created_at', 'desc').orderBy('id', 'desc');
    const [page, counted] = await Promise.all([
      rows.offset(offset).limit(limit).execute(),
      count.executeTakeFirstOrThrow(),
    ]);
    return { rows: page, total: Number(counted.n) };
  }

  find(id: string): Promise<GalleryImageRow | undefined> {
    return this.db.selectFrom('gallery_images').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findPublished(ids: readonly string[]): Promise<GalleryImageRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('gallery_images')
      .selectAll()
      .where('id', 'in', ids)
      .where('status', '=', 'published')
      .execute();
  }

  findByUpload(uploadId: string): Promise<GalleryImageRow | undefined> {
    return this.db.selectFrom('gallery_images').selectAll().where('upload_id', '=', uploadId).executeTakeFirst();
  }

  /** The public fields of the authors that have an account (deleted accounts are left out). */
  authors(userIds: readonly string[]): Promise<AuthorRow[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('users')
      .select(['id', 'nickname', 'avatar_url'])
      .where('id', 'in', userIds)
      .where('deleted_at', 'is', null)
      .execute();
  }

  /** Inserts the image; false when its upload is published already (the unique upload_id). */
  async insert(row: GalleryImagesTable): Promise<boolean> {
    try {
      await this.db.insertInto('gallery_images').values(row).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Marks a published image unpublished; false when it was not (any more) published. */
  async takeDown(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('gallery_images')
      .set({ status: 'unpublished', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'published')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Published images per category. */
  async categoryCounts(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('gallery_images')
      .select(['category', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'published')
      .groupBy('category')
      .execute();
    return new Map(rows.map((row) => [row.category, Number(row.n)]));
  }

  /**
   * The user likes the published image: the like row is inserted unless there is one (the pair is the
   * key; a racing twin waits for the first and then inserts nothing), and only an insert raises the
   * count, in the same transaction. The count after it; undefined when no such published image.
   */
  like(userId: string, imageId: string, now: number): Promise<number | undefined> {
    return transact(this.db, async (trx) => {
      if (!(await this.isPublished(trx, imageId))) return undefined;
      const insert = trx.insertInto('gallery_likes').values({ image_id: imageId, user_id: userId, created_at: now });
      // PostgreSQL and SQLite skip a duplicate with ON CONFLICT DO NOTHING; MySQL with INSERT IGNORE.
      const result = await (
        this.dialect.name === 'mysql'
          ? insert.ignore()
          : insert.onConflict((oc) => oc.columns(['image_id', 'user_id']).doNothing())
      ).executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) await this.addToCount(trx, imageId, 1);
      return this.countOf(trx, imageId);
    });
  }

  /** The user's like is removed if there is one, and only a removal lowers the count; as `like`. */
  unlike(userId: string, imageId: string): Promise<number | undefined> {
    return transact(this.db, async (trx) => {
      if (!(await this.isPublished(trx, imageId))) return undefined;
      const result = await trx
        .deleteFrom('gallery_likes')
        .where('image_id', '=', imageId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) > 0) await this.addToCount(trx, imageId, -1);
      return this.countOf(trx, imageId);
    });
  }

  /**
   * Inserts the seed rows whose id no row has (`npm run seed`), leaving every existing row as it is;
   * the number inserted. A row another seeder inserted meanwhile is skipped, not an error.
   */
  async insertMissing(rows: GalleryImagesTable[]): Promise<number> {
    if (rows.length === 0) return 0;
    const present = new Set(
      (
        await this.db
          .selectFrom('gallery_images')
          .select('id')
          .where(
            'id',
            'in',
            rows.map((row) => row.id),
          )
          .execute()
      ).map((row) => row.id),
    );
    let added = 0;
    for (const row of rows) {
      if (present.has(row.id)) continue;
      if (await this.insert(row)) added += 1;
    }
    return added;
  }

  /**
   * Whether the image is published, locking its row for the rest of the transaction (PostgreSQL,
   * MySQL): likes of one image then queue here. Without it, MySQL's foreign-key check on inserting the
   * like takes a shared lock on the image row, and two likes that both hold one deadlock when they
   * update the count. SQLite has no FOR UPDATE; its write transactions run one at a time anyway.
   */
  private async isPublished(trx: Kysely<DB>, id: string): Promise<boolean> {
    const query = trx.selectFrom('gallery_images').select('id').where('id', '=', id).where('status', '=', 'published');
    const row = await (this.dialect.name === 'sqlite' ? query : query.forUpdate()).executeTakeFirst();
    return row !== undefined;
  }

  private async addToCount(trx: Kysely<DB>, id: string, delta: 1 | -1): Promise<void> {
    await trx
      .updateTable('gallery_images')
      .set({ like_count: sql<number>`${sql.ref('like_count')} + ${sql.lit(delta)}` })
      .where('id', '=', id)
      .execute();
  }

  /** Read in the transaction that changed it, after the update locked the row: this call's count. */
  private async countOf(trx: Kysely<DB>, id: string): Promise<number> {
    const row = await trx
      .selectFrom('gallery_images')
      .select('like_count')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.like_count);
  }

  /** Published images: the user's, or everyone's. */
  async countPublished(userId?: string): Promise<number> {
    let query = this.db
      .selectFrom('gallery_images')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'published');
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }
}
