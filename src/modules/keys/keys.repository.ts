import { sql, type Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { Role, UserStatus } from '#modules/users/users.tables.ts';
import type { ApiKeyRow, ApiKeysTable } from './keys.tables.ts';

export type KeyChanges = Partial<
  Pick<
    ApiKeysTable,
    | 'name'
    | 'enabled'
    | 'expires_at'
    | 'allowed_models'
    | 'allowed_ips'
    | 'credit_cap'
    | 'credits_used'
    | 'rpm'
    | 'tpm'
    | 'concurrency'
    | 'rpd'
  >
>;

export class KeysRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: ApiKeyRow): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  /** A live key with its owner's current role and status: what authenticating a call needs. */
  findByHash(keyHash: string): Promise<(ApiKeyRow & { role: Role; user_status: UserStatus }) | undefined> {
    return this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .selectAll('api_keys')
      .select(['users.role as role', 'users.status as user_status'])
      .where('api_keys.key_hash', '=', keyHash)
      .where('api_keys.deleted_at', 'is', null)
      .executeTakeFirst();
  }

  findOwned(userId: string, id: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  }

  listOwned(userId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  async countOwned(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(userId: string, id: string, changes: KeyChanges, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async softDelete(userId: string, id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ deleted_at: now, enabled: 0, updated_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes every key of the user (a deleted account); how many there were. */
  async softDeleteAllOf(userId: string, now: number): Promise<number> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ deleted_at: now, enabled: 0, updated_at: now })
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Counts `amount` against the key's cap in one statement; false (nothing counted) when the cap would
   * be passed. `beyondCap` counts it regardless: a settle that charged more than its hold.
   */
  async spend(id: string, amount: number, beyondCap = false, db: Kysely<DB> = this.db): Promise<boolean> {
    let query = db
      .updateTable('api_keys')
      .set({ credits_used: sql`credits_used + ${amount}` })
      .where('id', '=', id);
    if (!beyondCap)
      query = query.where((eb) =>
        eb.or([eb('credit_cap', 'is', null), eb(sql`credits_used + ${amount}`, '<=', eb.ref('credit_cap'))]),
      );
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** A key's cap and what has been counted against it. */
  capOf(id: string): Promise<Pick<ApiKeyRow, 'credit_cap' | 'credits_used'> | undefined> {
    return this.db
      .selectFrom('api_keys')
      .select(['credit_cap', 'credits_used'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Gives back `amount` (a hold that charged less than it held); never below zero. */
  async unspend(id: string, amount: number, db: Kysely<DB> = this.db): Promise<void> {
    await db
      .updateTable('api_keys')
      .set({ credits_used: sql`case when credits_used > ${amount} then credits_used - ${amount} else 0 end` })
      .where('id', '=', id)
      .execute();
  }

  async touch(ids: string[], now: number): Promise<void> {
    if (ids.length > 0)
      await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', 'in', ids).execute();
  }
}
