import type { Clock } from '#core/clock.ts';
import { hashPassword } from '#core/crypto.ts';
import { isUniqueViolation } from '#core/db/dialect.ts';
import { AppError } from '#core/errors.ts';
import type { UsersRepository } from './users.repository.ts';
import type { UserRow } from './users.tables.ts';
import { normalizeEmail } from './users.service.ts';

/**
 * The ways into an account (docs/seed-003.md, "accounts with more than one way in"): an email with a
 * password, a WeChat identity, or both. One identity belongs to one account, decided by the unique
 * indexes (a conflict is a 409 naming it); a way in is taken away only while another remains.
 */
export class AccountIdentities {
  constructor(
    private readonly users: UsersRepository,
    private readonly clock: Clock,
  ) {}

  findByOpenid(openid: string): Promise<UserRow | undefined> {
    return this.users.findByOpenid(openid);
  }

  findByUnionid(unionid: string): Promise<UserRow | undefined> {
    return this.users.findByUnionid(unionid);
  }

  recordWeChatSignIn(
    id: string,
    changes: { sealedSessionKey: string; unionid?: string; nickname?: string; avatarUrl?: string },
  ): Promise<void> {
    return this.users.updateWeChatSignIn(id, changes, this.clock.now());
  }

  /** WECHAT_ALREADY_LINKED when another account has this identity; ACCOUNT_HAS_WECHAT when this one has another. */
  async linkWeChat(
    id: string,
    identity: { openid: string; unionid?: string; sealedSessionKey: string },
  ): Promise<void> {
    const holder =
      (await this.users.findByOpenid(identity.openid)) ??
      (identity.unionid ? await this.users.findByUnionid(identity.unionid) : undefined);
    if (holder && holder.id !== id) throw new AppError('WECHAT_ALREADY_LINKED');
    if (holder?.id === id) return; // linked already: nothing to do
    try {
      const linked = await this.users.linkWeChat(
        id,
        { openid: identity.openid, unionid: identity.unionid ?? null, sealedSessionKey: identity.sealedSessionKey },
        this.clock.now(),
      );
      if (!linked) throw new AppError('ACCOUNT_HAS_WECHAT');
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('WECHAT_ALREADY_LINKED');
      throw error;
    }
  }

  /** Only while the account keeps an email and a password (LAST_SIGN_IN_METHOD otherwise). */
  async unlinkWeChat(user: UserRow): Promise<void> {
    if (user.wechat_openid === null) throw new AppError('WECHAT_NOT_LINKED');
    if (!(await this.users.unlinkWeChat(user.id, this.clock.now()))) throw new AppError('LAST_SIGN_IN_METHOD');
  }

  /** EMAIL_ALREADY_REGISTERED when another account has the email; ACCOUNT_HAS_EMAIL when this one has one. */
  async linkEmail(id: string, rawEmail: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    try {
      if (!(await this.users.linkEmail(id, normalizeEmail(rawEmail), passwordHash, this.clock.now())))
        throw new AppError('ACCOUNT_HAS_EMAIL');
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('EMAIL_ALREADY_REGISTERED');
      throw error;
    }
  }

  /** Only while the account keeps its WeChat identity (LAST_SIGN_IN_METHOD otherwise). */
  async unlinkEmail(user: UserRow): Promise<void> {
    if (user.email === null) throw new AppError('EMAIL_NOT_LINKED');
    if (!(await this.users.unlinkEmail(user.id, this.clock.now()))) throw new AppError('LAST_SIGN_IN_METHOD');
  }

  setPhone(id: string, phone: string): Promise<void> {
    return this.users.setPhone(id, phone, this.clock.now());
  }
}
