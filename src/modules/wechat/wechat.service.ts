import type { FastifyBaseLogger } from 'fastify';
import { randomToken, type SecretBox } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import type { KeyValueStore } from '#core/kv.ts';
import type { ClientInfo, IssuedTokens, TokenService } from '#modules/auth/token.service.ts';
import type { AccountIdentities } from '#modules/users/identities.service.ts';
import type { UsersService, WithinCreation } from '#modules/users/users.service.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import type { AccessTokenCache } from './access-token.ts';
import { WeChatApiError, type WeChatClient, type WeChatPhone, type WeChatSession } from './wechat.client.ts';
import { TOKEN_REJECTED, mapWeChatError } from './wechat.errors.ts';

export interface WeChatProfile {
  nickname?: string;
  avatarUrl?: string;
}

export interface WeChatSignedIn {
  user: UserRow;
  tokens: IssuedTokens;
  isNewUser: boolean;
}

/** How long the first sign-in of an openid may hold the others back (they wait for its account). */
const FIRST_SIGN_IN_LOCK_MS = 10_000;
const POLL_MS = 25;

/**
 * WeChat mini-program sign-in (docs/seed-003.md): a `wx.login()` code is exchanged at jscode2session;
 * a new openid creates an account (with the sign-up bonus, under the same per-IP limits as email
 * sign-up), a known one signs in. Sessions are TokenService's, as for email accounts.
 *
 * The first sign-in of an openid is made once even when the mini-program sends it many times at
 * once, on any number of instances: one caller takes a short lock in the KV store and creates the
 * account, the others wait for it and sign in. The unique index of openids stays the last word: a
 * creation that loses to another (a lock that ran out) signs in to the account that won.
 */
export class WeChatService {
  constructor(
    private readonly deps: {
      client: WeChatClient | undefined;
      accessToken: AccessTokenCache | undefined;
      users: UsersService;
      identities: AccountIdentities;
      tokens: TokenService;
      kv: KeyValueStore;
      box: SecretBox;
      log: FastifyBaseLogger;
      onSignUp: (ip: string) => Promise<WithinCreation>;
    },
  ) {}

  async login(code: string, profile: WeChatProfile, client: ClientInfo): Promise<WeChatSignedIn> {
    const session = await this.exchange(code);
    const sealedSessionKey = this.deps.box.seal(session.sessionKey);
    const known = await this.accountOf(session);
    if (known) return this.signIn(known, session, sealedSessionKey, profile, client, false);

    const lockKey = `wechat:first-sign-in:${session.openid}`;
    const owner = randomToken(12);
    const deadline = Date.now() + FIRST_SIGN_IN_LOCK_MS * 2;
    for (;;) {
      if (await this.deps.kv.setIfAbsent(lockKey, owner, FIRST_SIGN_IN_LOCK_MS)) {
        try {
          return await this.create(session, sealedSessionKey, profile, client);
        } finally {
          await this.deps.kv.deleteIfEquals(lockKey, owner);
        }
      }
      const made = await this.accountOf(session);
      if (made) return this.signIn(made, session, sealedSessionKey, profile, client, false);
      if (Date.now() > deadline) throw new AppError('WECHAT_UNAVAILABLE', {}, {}, 1);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Gives the signed-in account (an email account) the WeChat identity of `code`. */
  async link(userId: string, code: string): Promise<UserRow> {
    const session = await this.exchange(code);
    await this.deps.identities.linkWeChat(userId, {
      openid: session.openid,
      unionid: session.unionid,
      sealedSessionKey: this.deps.box.seal(session.sessionKey),
    });
    return this.deps.users.require(userId);
  }

  /** Takes the WeChat identity away, only while the account keeps an email and a password. */
  async unlink(userId: string): Promise<UserRow> {
    await this.deps.identities.unlinkWeChat(await this.deps.users.require(userId));
    return this.deps.users.require(userId);
  }

  /** The phone number of a getPhoneNumber `code`, kept on the account. */
  async phone(userId: string, code: string): Promise<{ user: UserRow; phone: WeChatPhone }> {
    const { client, accessToken } = this.configured();
    const user = await this.deps.users.require(userId);
    let phone: WeChatPhone;
    try {
      let token = await accessToken.get();
      try {
        phone = await client.phoneNumber(token, code);
      } catch (error) {
        if (!(error instanceof WeChatApiError && TOKEN_REJECTED.has(error.errcode))) throw error;
        token = await accessToken.refresh(token);
        phone = await client.phoneNumber(token, code);
      }
    } catch (error) {
      throw mapWeChatError(error, 'PHONE_CODE_INVALID', this.logError);
    }
    await this.deps.identities.setPhone(user.id, phone.phoneNumber);
    return { user: { ...user, phone: phone.phoneNumber }, phone };
  }

  private async create(
    session: WeChatSession,
    sealedSessionKey: string,
    profile: WeChatProfile,
    client: ClientInfo,
  ): Promise<WeChatSignedIn> {
    const existing = await this.accountOf(session); // made while this caller waited for the lock
    if (existing) return this.signIn(existing, session, sealedSessionKey, profile, client, false);
    try {
      const user = await this.deps.users.createWithWeChat(
        { openid: session.openid, unionid: session.unionid, sealedSessionKey, ...profile },
        await this.deps.onSignUp(client.ip),
      );
      return { user, tokens: await this.deps.tokens.startSession(user, client), isNewUser: true };
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'WECHAT_ALREADY_LINKED')) throw error;
      const winner = await this.accountOf(session);
      if (!winner) throw error;
      return this.signIn(winner, session, sealedSessionKey, profile, client, false);
    }
  }

  private async signIn(
    user: UserRow,
    session: WeChatSession,
    sealedSessionKey: string,
    profile: WeChatProfile,
    client: ClientInfo,
    isNewUser: boolean,
  ): Promise<WeChatSignedIn> {
    if (user.status !== 'active' || user.deleted_at !== null) throw new AppError('ACCOUNT_DISABLED');
    const unionid = user.wechat_unionid === null ? session.unionid : undefined;
    await this.deps.identities.recordWeChatSignIn(user.id, { sealedSessionKey, unionid, ...profile });
    const updated: UserRow = {
      ...user,
      wechat_session_key: sealedSessionKey,
      wechat_unionid: user.wechat_unionid ?? session.unionid ?? null,
      nickname: profile.nickname ?? user.nickname,
      avatar_url: profile.avatarUrl ?? user.avatar_url,
    };
    return { user: updated, tokens: await this.deps.tokens.startSession(updated, client), isNewUser };
  }

  /** The account of a WeChat identity: by openid, or by unionid (the same person in another app of the same Open Platform account). */
  private async accountOf(session: WeChatSession): Promise<UserRow | undefined> {
    const byOpenid = await this.deps.identities.findByOpenid(session.openid);
    if (byOpenid || !session.unionid) return byOpenid;
    return this.deps.identities.findByUnionid(session.unionid);
  }

  private async exchange(code: string): Promise<WeChatSession> {
    const { client } = this.configured();
    try {
      return await client.code2Session(code);
    } catch (error) {
      throw mapWeChatError(error, 'WECHAT_CODE_INVALID', this.logError);
    }
  }

  private configured(): { client: WeChatClient; accessToken: AccessTokenCache } {
    const { client, accessToken } = this.deps;
    if (!client || !accessToken) throw new AppError('WECHAT_NOT_CONFIGURED');
    return { client, accessToken };
  }

  private readonly logError = (message: string, error: unknown): void => {
    this.deps.log.error({ err: error }, message);
  };
}
