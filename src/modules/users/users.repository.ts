import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { NewUserRow, Role, UserRow, UserStatus } from './users.tables.ts';

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

  /** Which of `names` some account uses as its username (chosen or made up). */
  async takenUsernames(names: string[]): Promise<Set<string>> {
    const rows = await this.db.selectFrom('users').select('username').where('username', 'in', names).execute();
    return new Set(rows.map((row) => row.username));
  }

  /** Throws the driver's unique violation when the email, or the made-up username, is taken (see core/db/dialect.ts). */
  async insert(row: NewUserRow, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('users').values(row).execute();
  }

  async updatePassword(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async update(id: string, changes: { role?: Role; status?: UserStatus }, now: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ ...changes, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** Deletes the user and, by the foreign keys' cascade, everything the user owns. False when there is no such user. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
