import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import { capabilitiesOf } from '#core/db/dialect.ts';
import { transact } from '#core/db/transaction.ts';
import type { DB } from '#core/db/schema.ts';
import type { CursorPosition } from '#core/http/pagination.ts';
import type { NewUserRow, Role, UserRow, UserStatus, UserUpdate } from './users.tables.ts';
import { olderThan } from '#core/db/keyset.ts';

/** What an admin's user list is narrowed to (AND). */
export interface UserFilter {
  /** An id or a WeChat openid exactly, or part of an email, username or nickname (case-insensitive). */
  search?: string;
  role?: Role;
  status?: UserStatus;
  /** Deleted accounts only (true), or none of them (false, the default). */
  deleted?: boolean;
}

/** The fields an admin may change on an account (UsersService.update). */
export interface UserChanges {
  email?: string;
  username?: string;
  /** Null when an admin gives the account a username (it is then chosen, not made up). */
  derived_username?: null;
  role?: Role;
  status?: UserStatus;
  nickname?: string | null;
  avatar_url?: string | null;
  phone?: string | null;
}

/**
 * What deleting an account writes (docs/admin.md, deletion): disabled, marked deleted, every personal
 * field and sign-in method erased, the username replaced; the books (ledger, usage, check-ins,
 * redemptions) keep pointing at the row. The freed email and openid may sign up again.
 */
function erased(id: string, now: number) {
  return {
    status: 'disabled' as const,
    deleted_at: now,
    email: null,
    password_hash: null,
    username: `deleted_${id}`,
    derived_username: null,
    wechat_openid: null,
    wechat_unionid: null,
    wechat_session_key: null,
    nickname: null,
    avatar_url: null,
    phone: null,
  };
}

/**
 * `%` and `_` in a search are letters, not wildcards: escaped with `!`, which every dialect reads the
 * same way in `escape '!'` (a backslash is one character in MySQL's literals, two in PostgreSQL's).
 */
const likeEscaped = (text: string): string => text.replace(/[!%_]/g, (c) => `!${c}`);

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

  /** Newest first; after `cursor` (keyset on created_at, id) or from `offset`. */
  list(filter: UserFilter, page: { limit: number; offset: number; cursor?: CursorPosition }): Promise<UserRow[]> {
    let query = this.filtered(filter).selectAll();
    const { cursor } = page;
    if (cursor) {
      query = query.where(olderThan(cursor));
    }
    query = query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit);
    if (!cursor && page.offset > 0) query = query.offset(page.offset);
    return query.execute();
  }

  async count(filter: UserFilter = {}): Promise<number> {
    const row = await this.filtered(filter)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Accounts (not deleted) created since `since`. */
  async countCreatedSince(since: number): Promise<number> {
    const row = await this.filtered({})
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private filtered(filter: UserFilter): SelectQueryBuilder<DB, 'users', object> {
    let query = this.db.selectFrom('users').where('deleted_at', filter.deleted ? 'is not' : 'is', null);
    if (filter.role) query = query.where('role', '=', filter.role);
    if (filter.status) query = query.where('status', '=', filter.status);
    const search = filter.search?.trim();
    if (search) {
      const pattern = `%${likeEscaped(search.toLowerCase())}%`;
      query = query.where((eb) =>
        eb.or([
          eb('id', '=', search),
          eb('wechat_openid', '=', search),
          sql<boolean>`lower(${sql.ref('email')}) like ${pattern} escape '!'`,
          sql<boolean>`lower(${sql.ref('username')}) like ${pattern} escape '!'`,
          sql<boolean>`lower(${sql.ref('nickname')}) like ${pattern} escape '!'`,
        ]),
      );
    }
    return query;
  }

  /**
   * Applies `changes` unless they would leave no active admin: in one transaction that first locks
   * every active admin's row (PostgreSQL, MySQL; on SQLite the process's one connection runs one
   * transaction at a time), so two admins demoting each other at once cannot both succeed. `erase`
   * deletes the account (see `erased`). A deleted account is `missing`: it cannot be changed again.
   */
  async updateKeepingAnAdmin(
    id: string,
    changes: UserChanges | 'erase',
    now: number,
  ): Promise<'updated' | 'missing' | 'last_admin'> {
    return transact(this.db, async (trx) => {
      const user = await trx
        .selectFrom('users')
        .select(['role', 'status'])
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!user) return 'missing';
      const values: UserUpdate = changes === 'erase' ? erased(id, now) : changes;
      const staysAdmin = (values.role ?? user.role) === 'admin' && (values.status ?? user.status) === 'active';
      if (user.role === 'admin' && user.status === 'active' && !staysAdmin) {
        let admins = trx.selectFrom('users').select('id').where('role', '=', 'admin').where('status', '=', 'active');
        if (capabilitiesOf(this.db).name !== 'sqlite') admins = admins.forUpdate();
        if ((await admins.execute()).filter((row) => row.id !== id).length === 0) return 'last_admin';
      }
      await trx
        .updateTable('users')
        .set({ ...values, updated_at: now })
        .where('id', '=', id)
        .execute();
      return 'updated';
    });
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
}
