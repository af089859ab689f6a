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

  findByOpenid(openid: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('wechat_openid', '=', openid).executeTakeFirst();
  }

  findByUnionid(unionid: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('wechat_unionid', '=', unionid).executeTakeFirst();
  }

  /** A sign-in with WeChat: the new session key, the unionid when WeChat now gives one, the profile sent. */
  async updateWeChatSignIn(
    id: string,
    changes: { sealedSessionKey: string; unionid?: string; nickname?: string; avatarUrl?: string },
    now: number,
  ): Promise<void> {
    await this.db
      .updateTable('users')
      .set({
        wechat_session_key: changes.sealedSessionKey,
        ...(changes.unionid === undefined ? {} : { wechat_unionid: changes.unionid }),
        ...(changes.nickname === undefined ? {} : { nickname: changes.nickname }),
        ...(changes.avatarUrl === undefined ? {} : { avatar_url: changes.avatarUrl }),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Gives an account without one a WeChat identity; false when it has one. Throws the unique violation when another account has it. */
  async linkWeChat(
    id: string,
    identity: { openid: string; unionid: string | null; sealedSessionKey: string },
    now: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({
        wechat_openid: identity.openid,
        wechat_unionid: identity.unionid,
        wechat_session_key: identity.sealedSessionKey,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('wechat_openid', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Takes the WeChat identity away, only while the account keeps an email and a password; false otherwise. */
  async unlinkWeChat(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ wechat_openid: null, wechat_unionid: null, wechat_session_key: null, updated_at: now })
      .where('id', '=', id)
      .where('wechat_openid', 'is not', null)
      .where('email', 'is not', null)
      .where('password_hash', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives an account without one an email and a password; false when it has an email. Throws the unique violation when the email is taken. */
  async linkEmail(id: string, email: string, passwordHash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ email, password_hash: passwordHash, updated_at: now })
      .where('id', '=', id)
      .where('email', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Takes the email and password away, only while the account keeps its WeChat identity; false otherwise. */
  async unlinkEmail(id: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ email: null, password_hash: null, updated_at: now })
      .where('id', '=', id)
      .where('email', 'is not', null)
      .where('wechat_openid', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setPhone(id: string, phone: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ phone, updated_at: now }).where('id', '=', id).execute();
  }

  /** Deletes the user and, by the foreign keys' cascade, everything the user owns. False when there is no such user. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
