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
import type { UsersRepository } from './users.repository.ts';
import type { Role, UserRow, UserStatus } from './users.tables.ts';
import { usernameFromEmail, withSuffix } from './usernames.ts';

export interface NewUser {
  email: string;
  /** Absent: one is made up from the email (see usernames.ts), unique among made-up names. */
  username?: string;
  password: string;
  role?: Role;
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
      if (row.derived_username !== null && !(row.email !== null && (await this.users.existsByEmail(row.email))))
        return false;
      throw new AppError('EMAIL_ALREADY_REGISTERED');
    }
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
    if (!(await this.users.findById(id))) throw new AppError('NOT_FOUND');
    await this.users.update(id, changes, this.clock.now());
    await this.publishChange(id);
  }

  /** Deletes an account with everything it owns (sessions, keys, credits: the tables cascade). */
  async remove(id: string): Promise<void> {
    if (!(await this.users.delete(id))) throw new AppError('NOT_FOUND');
    await this.publishChange(id);
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
