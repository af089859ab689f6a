import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { NewUserRow, Role, UserRow } from './users.tables.ts';

export class UsersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  async existsByEmail(email: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    return row !== undefined;
  }

  /** Throws the driver's unique violation when the email is taken (see core/db/dialect.ts). */
  async insert(row: NewUserRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('users').values(row).execute();
  }

  async updatePassword(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
  }

  async updateRole(id: string, role: Role, now: number): Promise<void> {
    await this.db.updateTable('users').set({ role, updated_at: now }).where('id', '=', id).execute();
  }
}
