import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '#core/clock.ts';
import { hashPassword } from '#core/crypto.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import type { DB } from '#core/db/schema.ts';
import { transact } from '#core/db/transaction.ts';
import { AppError } from '#core/errors.ts';
import { newId } from '#core/ids.ts';
import type { InvalidationBus } from '#core/invalidation.ts';
import { encodeCursor, type CursorPosition } from '#core/http/pagination.ts';
import type { UserChanges, UserFilter, UsersRepository } from './users.repository.ts';
import type { Role, UserRow, UserStatus } from './users.tables.ts';
import { usernameFromEmail, withSuffix } from './usernames.ts';

export interface NewUser {
  email: string;
  /** Absent: one is made up from the email (see usernames.ts), unique among made-up names. */
  username?: string;
  password: string;
  role?: Role;
}

/** A WeChat identity as jscode2session gives it, the session key already sealed, with the profile the client sent. */
export interface WeChatIdentity {
  openid: string;
  unionid?: string;
  sealedSessionKey: string;
  nickname?: string;
  avatarUrl?: string;
}

/** Emails are compared case-insensitively: stored trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Sign-ups racing for one made-up username: each lost race tries again with the next free name. */
const DERIVED_NAME_ATTEMPTS = 5;
/** Suffixes looked up at once for a free made-up name (`bob`, `bob_2` … `bob_20`); past them a random one. */
const SUFFIXES_LOOKED_UP = 20;

/** The columns of an account's WeChat identity and profile, for an account that has none. */
export const NO_WECHAT_IDENTITY = {
  wechat_openid: null,
  wechat_unionid: null,
  wechat_session_key: null,
  nickname: null,
  avatar_url: null,
  phone: null,
  deleted_at: null,
} as const;

/** Work another module adds to the transaction that creates a user (e.g. opening the credit account). */
export type WithinCreation = (trx: Kysely<DB>, user: UserRow) => Promise<void>;

export class UsersService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly users: UsersRepository,
    private readonly bus: InvalidationBus,
    private readonly clock: Clock,
  ) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.users.findById(id);
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.users.findByEmail(normalizeEmail(email));
  }

  isRegistered(email: string): Promise<boolean> {
    return this.users.existsByEmail(normalizeEmail(email));
  }

  /** An account an admin may still change: NOT_FOUND when there is none or it was deleted. */
  async requireLiveAccount(id: string): Promise<UserRow> {
    const user = await this.users.findById(id);
    if (!user || user.deleted_at !== null) throw new AppError('NOT_FOUND');
    return user;
  }

  async require(id: string): Promise<UserRow> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError('UNAUTHORIZED');
    return user;
  }

  /**
   * Creates the account, and runs `within` (the sign-up bonus) in the same transaction: both happen or
   * neither. A taken email is EMAIL_ALREADY_REGISTERED, decided by the unique index, not a read. Without
   * a username one is made up from the email: the first of `bob`, `bob_2`… in use by nobody, and when
   * another sign-up takes it at the same moment (the unique index of made-up names), the next one.
   */
  async create(input: NewUser, within?: WithinCreation): Promise<UserRow> {
    const passwordHash = await hashPassword(input.password); // before the transaction: it takes a while
    const now = this.clock.now();
    const row: UserRow = {
      id: newId(now),
      email: normalizeEmail(input.email),
      username: input.username?.trim() ?? '',
      derived_username: null,
      password_hash: passwordHash,
      role: input.role ?? 'user',
      status: 'active',
      created_at: now,
      updated_at: now,
      ...NO_WECHAT_IDENTITY,
    };
    if (input.username !== undefined) {
      await this.insert(row, within);
      return row;
    }
    const base = usernameFromEmail(normalizeEmail(input.email));
    for (let attempt = 1; ; attempt++) {
      const name = await this.freeUsername(base, attempt);
      const named = { ...row, username: name, derived_username: name };
      if (await this.insert(named, within)) return named;
      if (attempt === DERIVED_NAME_ATTEMPTS) throw new Error(`no free username for ${base} after ${attempt} attempts`);
    }
  }

  /**
   * An account whose only way in is a WeChat identity (docs/seed-003.md), with the sign-up bonus of
   * `within` in the same transaction. Its username is made up (`wx_` and the end of the openid, then
   * suffixes). When the openid (or unionid) is taken, by a parallel first sign-in of the same person,
   * this throws WECHAT_ALREADY_LINKED and nothing is created: the caller signs that person in instead.
   */
  async createWithWeChat(identity: WeChatIdentity, within?: WithinCreation): Promise<UserRow> {
    const now = this.clock.now();
    const row: UserRow = {
      id: newId(now),
      email: null,
      username: '',
      derived_username: null,
      password_hash: null,
      role: 'user',
      status: 'active',
      created_at: now,
      updated_at: now,
      ...NO_WECHAT_IDENTITY,
      wechat_openid: identity.openid,
      wechat_unionid: identity.unionid ?? null,
      wechat_session_key: identity.sealedSessionKey,
      nickname: identity.nickname ?? null,
      avatar_url: identity.avatarUrl ?? null,
    };
    const base = usernameFromEmail(`wx_${identity.openid.slice(-8)}@wechat`);
    for (let attempt = 1; ; attempt++) {
      const name = await this.freeUsername(base, attempt);
      const named = { ...row, username: name, derived_username: name };
      if (await this.insert(named, within)) return named;
      if (attempt === DERIVED_NAME_ATTEMPTS) throw new Error(`no free username for ${base} after ${attempt} attempts`);
    }
  }

  /** True when the row was inserted; false when only its made-up username was taken meanwhile. */
  private async insert(row: UserRow, within?: WithinCreation): Promise<boolean> {
    try {
      await transact(this.db, async (trx) => {
        await this.users.insert(row, trx);
        if (within) await within(trx, row);
      });
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (row.email !== null && (await this.users.existsByEmail(row.email)))
        throw new AppError('EMAIL_ALREADY_REGISTERED');
      if (await this.identityTaken(row)) throw new AppError('WECHAT_ALREADY_LINKED');
      if (row.derived_username !== null) return false;
      throw error;
    }
  }

  private async identityTaken(row: UserRow): Promise<boolean> {
    if (row.wechat_openid !== null && (await this.users.findByOpenid(row.wechat_openid))) return true;
    return row.wechat_unionid !== null && (await this.users.findByUnionid(row.wechat_unionid)) !== undefined;
  }

  /** The first of `base`, `base_2`… that no account uses; a random suffix once those are all taken or a race was lost twice. */
  private async freeUsername(base: string, attempt: number): Promise<string> {
    if (attempt <= 2) {
      const names = Array.from({ length: SUFFIXES_LOOKED_UP }, (_, i) => withSuffix(base, i + 1));
      const taken = await this.users.takenUsernames(names);
      const free = names.find((name) => !taken.has(name));
      if (free) return free;
    }
    return withSuffix(base, randomInt(SUFFIXES_LOOKED_UP + 1, 1_000_000));
  }

  async setPassword(id: string, password: string): Promise<void> {
    await this.users.updatePassword(id, await hashPassword(password), this.clock.now());
  }

  /**
   * Disables (or enables again) an account, or changes its role. Sessions read the user on every
   * request; API keys are cached, so every instance is told to drop the user's keys before this returns.
   */
  async change(id: string, changes: { status?: UserStatus; role?: Role }): Promise<void> {
    await this.update(id, changes);
  }

  /**
   * An admin's change to an account: email (unique, 409 when taken), username, role, status. Never
   * leaves Tollgate without an active admin (LAST_ADMIN, 409). A change of role or status reaches every
   * instance before this returns (publishChange). Returns the account before and after.
   */
  async update(id: string, changes: UserChanges): Promise<{ before: UserRow; after: UserRow }> {
    const before = await this.users.findById(id);
    if (!before || before.deleted_at !== null) throw new AppError('NOT_FOUND');
    const applied: UserChanges = { ...changes };
    if (changes.email !== undefined) applied.email = normalizeEmail(changes.email);
    if (changes.username !== undefined) {
      applied.username = changes.username.trim();
      applied.derived_username = null;
    }
    let outcome: Awaited<ReturnType<UsersRepository['updateKeepingAnAdmin']>>;
    try {
      outcome = await this.users.updateKeepingAnAdmin(id, applied, this.clock.now());
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('EMAIL_ALREADY_REGISTERED');
      throw error;
    }
    if (outcome === 'missing') throw new AppError('NOT_FOUND');
    if (outcome === 'last_admin') throw new AppError('LAST_ADMIN');
    await this.publishChange(id);
    return { before, after: await this.require(id) };
  }

  /** Accounts for the admin's list, newest first: by `cursor` (keyset) when given, else by page. */
  async list(
    filter: UserFilter,
    paging: { page: number; limit: number; cursor?: CursorPosition },
  ): Promise<{ rows: UserRow[]; total: number; nextCursor: string | null; hasMore: boolean }> {
    const { page, limit, cursor } = paging;
    const [found, total] = await Promise.all([
      this.users.list(filter, { limit: limit + 1, offset: (page - 1) * limit, ...(cursor ? { cursor } : {}) }),
      this.users.count(filter),
    ]);
    const rows = found.slice(0, limit);
    const hasMore = found.length > limit;
    const last = rows.at(-1);
    const nextCursor = hasMore && last ? encodeCursor({ at: Number(last.created_at), id: last.id }) : null;
    return { rows, total, nextCursor, hasMore };
  }

  countDeleted(): Promise<number> {
    return this.users.count({ deleted: true });
  }

  /** Every account (not deleted), and those created since `since` (epoch ms). */
  async counts(since: number): Promise<{ total: number; since: number }> {
    const [total, created] = await Promise.all([this.users.count(), this.users.countCreatedSince(since)]);
    return { total, since: created };
  }

  /**
   * Deletes an account and keeps its books (docs/admin.md): it is disabled and marked deleted, its
   * email, password, WeChat identity and profile erased and its username replaced, in one statement;
   * the ledger, usage, check-ins and redemptions stay. Never the last active admin (LAST_ADMIN); a
   * deleted account is NOT_FOUND. Every instance drops the user's cached keys before this returns.
   */
  async remove(id: string): Promise<{ before: UserRow; after: UserRow }> {
    const before = await this.users.findById(id);
    if (!before || before.deleted_at !== null) throw new AppError('NOT_FOUND');
    const outcome = await this.users.updateKeepingAnAdmin(id, 'erase', this.clock.now());
    if (outcome === 'missing') throw new AppError('NOT_FOUND');
    if (outcome === 'last_admin') throw new AppError('LAST_ADMIN');
    await this.publishChange(id);
    return { before, after: await this.require(id) };
  }

  /** `user:<id>` makes every instance's key cache drop that user's keys (KeyCache.invalidate). */
  private publishChange(id: string): Promise<void> {
    return this.bus.publish(`user:${id}`);
  }

  /** Start-up: make sure the configured first admin exists and is an admin. Never changes a password. */
  async ensureAdmin(
    email: string,
    password: string,
    within?: WithinCreation,
  ): Promise<{ created: boolean; userId: string }> {
    const existing = await this.findByEmail(email);
    if (existing) {
      if (existing.role !== 'admin') await this.change(existing.id, { role: 'admin' });
      return { created: false, userId: existing.id };
    }
    try {
      const user = await this.create({ email, password, role: 'admin' }, within);
      return { created: true, userId: user.id };
    } catch (error) {
      // Another instance created it at the same moment.
      if (error instanceof AppError && error.code === 'EMAIL_ALREADY_REGISTERED')
        return this.ensureAdmin(email, password, within);
      throw error;
    }
  }
}
