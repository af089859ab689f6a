import type { Kysely } from 'kysely';
import { isUniqueViolation } from '#core/db/dialect.ts';
import { olderThan } from '#core/db/keyset.ts';
import type { DB } from '#core/db/schema.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { FavoriteRow, FavoriteType } from './favorites.tables.ts';

/** The SQL of favorites. Every read and write names the owner. */
export class FavoritesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Inserts the favorite; false when the user has this one already (the unique user, type and target). */
  async insert(row: FavoriteRow): Promise<boolean> {
    try {
      await this.db.insertInto('favorites').values(row).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  findByTarget(userId: string, type: FavoriteType, targetId: string): Promise<FavoriteRow | undefined> {
    return this.db
      .selectFrom('favorites')
      .selectAll()
      .where('user_id', '=', userId)
      .where('target_type', '=', type)
      .where('target_id', '=', targetId)
      .executeTakeFirst();
  }

  /** The user's favorites newest first (of one type, when given), after `before` (keyset) or from `offset`. */
  async list(
    userId: string,
    type: FavoriteType | undefined,
    before: CursorPosition | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: FavoriteRow[]; total: number }> {
    let rows = this.db.selectFrom('favorites').selectAll().where('user_id', '=', userId);
    let count = this.db
      .selectFrom('favorites')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId);
    if (type !== undefined) {
      rows = rows.where('target_type', '=', type);
      count = count.where('target_type', '=', type);
    }
    if (before) rows = rows.where(olderThan(before));
    const [page, counted] = await Promise.all([
      rows.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      count.executeTakeFirstOrThrow(),
    ]);
    return { rows: page, total: Number(counted.n) };
  }

  /** Deletes the user's favorite; false when the user has none with this id. */
  async delete(userId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('favorites')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The user's favorites by type. */
  async countsByType(userId: string): Promise<Map<FavoriteType, number>> {
    const rows = await this.db
      .selectFrom('favorites')
      .select(['target_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('user_id', '=', userId)
      .groupBy('target_type')
      .execute();
    return new Map(rows.map((row) => [row.target_type, Number(row.n)]));
  }
}
