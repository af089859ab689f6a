import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { UploadRow } from './storage.tables.ts';

/** The SQL of uploads. */
export class StorageRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertUpload(row: UploadRow): Promise<void> {
    await this.db.insertInto('uploads').values(row).execute();
  }

  findUpload(userId: string, id: string): Promise<UploadRow | undefined> {
    return this.db
      .selectFrom('uploads')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }

  /** The user's upload stored under `key` (publishing an image by the URL Tollgate gave for it), or undefined. */
  findUploadByKey(userId: string, key: string): Promise<UploadRow | undefined> {
    return this.db
      .selectFrom('uploads')
      .selectAll()
      .where('storage_key', '=', key)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  }
}
