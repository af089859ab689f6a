import { sql, type Kysely } from 'kysely';
import { olderThan } from '#core/db/keyset.ts';
import type { DB } from '#core/db/schema.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { CharacterPhotoRow, CharacterRow } from './characters.tables.ts';

/** The SQL of characters and their photos. Every read and write names the owner. */
export class CharactersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: CharacterRow): Promise<void> {
    await this.db.insertInto('characters').values(row).execute();
  }

  async list(
    userId: string,
    before: CursorPosition | undefined,
    offset: number,
    limit: number,
  ): Promise<{ rows: CharacterRow[]; total: number }> {
    let rows = this.db.selectFrom('characters').selectAll().where('user_id', '=', userId);
    if (before) rows = rows.where(olderThan(before));
    const [page, counted] = await Promise.all([
      rows.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
      this.db
        .selectFrom('characters')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow(),
    ]);
    return { rows: page, total: Number(counted.n) };
  }

  find(userId: string, id: string, db: Kysely<DB> = this.db): Promise<CharacterRow | undefined> {
    return db
      .selectFrom('characters')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  async update(
    userId: string,
    id: string,
    patch: { name?: string; description?: string | null; updated_at: number },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('characters')
      .set(patch)
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Deletes the character and its photos; the object keys its photos had, or undefined when it was not there. */
  async delete(userId: string, id: string, trx: Kysely<DB>): Promise<string[] | undefined> {
    const photos = await trx
      .selectFrom('character_photos')
      .select('storage_key')
      .where('character_id', '=', id)
      .where('user_id', '=', userId)
      .execute();
    await trx.deleteFrom('character_photos').where('character_id', '=', id).where('user_id', '=', userId).execute();
    const result = await trx
      .deleteFrom('characters')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return undefined;
    return photos.flatMap((p) => (p.storage_key ? [p.storage_key] : []));
  }

  photosOf(characterIds: readonly string[]): Promise<CharacterPhotoRow[]> {
    if (characterIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('character_photos')
      .selectAll()
      .where('character_id', 'in', characterIds)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  findPhoto(userId: string, characterId: string, photoId: string): Promise<CharacterPhotoRow | undefined> {
    return this.db
      .selectFrom('character_photos')
      .selectAll()
      .where('id', '=', photoId)
      .where('character_id', '=', characterId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /**
   * Takes one of the character's photo places: one conditional update, so racing uploads never take
   * more than `max` on any database. False when the character is full (or not the user's).
   */
  async takePhotoPlace(userId: string, characterId: string, max: number, now: number, trx: Kysely<DB>) {
    const result = await trx
      .updateTable('characters')
      .set({ photo_count: sql<number>`photo_count + 1`, updated_at: now })
      .where('id', '=', characterId)
      .where('user_id', '=', userId)
      .where('photo_count', '<', max)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async insertPhoto(row: CharacterPhotoRow, trx: Kysely<DB>): Promise<void> {
    await trx.insertInto('character_photos').values(row).execute();
  }

  /** Deletes the photo and gives its place back; false when it was not there. */
  async deletePhoto(userId: string, characterId: string, photoId: string, now: number, trx: Kysely<DB>) {
    const result = await trx
      .deleteFrom('character_photos')
      .where('id', '=', photoId)
      .where('character_id', '=', characterId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    await trx
      .updateTable('characters')
      .set({ photo_count: sql<number>`photo_count - 1`, updated_at: now })
      .where('id', '=', characterId)
      .execute();
    return true;
  }
}
