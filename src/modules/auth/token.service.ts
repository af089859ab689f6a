import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '#core/clock.ts';
import type { Config } from '#core/config.ts';
import { keyedToken, randomToken, sha256Hex } from '#core/crypto.ts';
import { AppError } from '#core/errors.ts';
import type { Principal } from '#core/http/route-config.ts';
import { newId } from '#core/ids.ts';
import type { UserRow } from '#modules/users/users.tables.ts';
import type { RefreshTokenRow, SessionRow } from './auth.tables.ts';
import type { SessionsRepository } from './sessions.repository.ts';

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  sessionId: string;
}

export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

const ISSUER = 'tollgate';
const AUDIENCE = 'tollgate-api';

/**
 * Sessions: a short-lived HS256 access JWT naming its session, and a rotating opaque refresh token.
 * Every request re-checks the session, so logout, reuse detection and password resets take effect at once.
 */
export class TokenService {
  private readonly key: Uint8Array;
  /** Derives refresh-token successors; a key of its own, derived from JWT_SECRET. */
  private readonly successorKey: string;

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {
    this.key = new TextEncoder().encode(config.jwtSecret);
    this.successorKey = keyedToken(config.jwtSecret, 'refresh-token successors');
  }

  async startSession(user: UserRow, client: ClientInfo): Promise<IssuedTokens> {
    const now = this.clock.now();
    const sessionId = newId(now);
    const expiresAt = now + this.config.REFRESH_TOKEN_TTL * 1000;
    const refresh = this.newRefreshToken(sessionId, now, expiresAt);
    await this.sessions.create(
      {
        id: sessionId,
        user_id: user.id,
        created_at: now,
        expires_at: expiresAt,
        revoked_at: null,
        revoke_reason: null,
        ip: client.ip.slice(0, 64),
        user_agent: client.userAgent?.slice(0, 255) ?? null,
      },
      refresh.row,
    );
    return {
      accessToken: await this.signAccess(user.id, sessionId, now),
      refreshToken: refresh.token,
      expiresIn: this.config.ACCESS_TOKEN_TTL,
      sessionId,
    };
  }

  /** The principal of a valid access token whose session is live; UNAUTHORIZED otherwise. */
  async authenticate(accessToken: string, via: Principal['via']): Promise<Principal> {
    let sessionId: unknown;
    try {
      const { payload } = await jwtVerify(accessToken, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: new Date(this.clock.now()),
      });
      sessionId = payload.sid;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new AppError('UNAUTHORIZED');
      throw error;
    }
    if (typeof sessionId !== 'string') throw new AppError('UNAUTHORIZED');
    const session = await this.sessions.findLive(sessionId, this.clock.now());
    if (!session) throw new AppError('UNAUTHORIZED');
    if (session.userStatus !== 'active') throw new AppError('ACCOUNT_DISABLED');
    return { userId: session.userId, role: session.role, sessionId, via };
  }

  /**
   * Trades a refresh token for a new pair. A token is rotated once, into a successor derived from it;
   * a refresh that presents it again within REFRESH_TOKEN_GRACE of that rotation (two tabs, a retry)
   * gets the same successor, on any instance. Presented later, a used token revokes its whole session;
   * so does any refresh of a disabled account.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens & { userId: string }> {
    const now = this.clock.now();
    const hash = sha256Hex(refreshToken);
    let row = await this.sessions.findToken(hash);
    if (!row || row.revoked_at !== null || row.expires_at <= now) throw new AppError('REFRESH_TOKEN_INVALID');
    const sessionId = row.session_id;
    if (row.user_status !== 'active') {
      await this.sessions.revoke(sessionId, 'account_disabled', now);
      throw new AppError('ACCOUNT_DISABLED');
    }
    // A session lives REFRESH_TOKEN_TTL from sign-in; rotation does not extend it.
    const next = this.successorOf(refreshToken, sessionId, now, row.expires_at);
    if (row.used_at === null) {
      if (await this.sessions.rotate(hash, next.row, now)) return this.issue(row, next.token, now);
      row = await this.sessions.findToken(hash); // a parallel refresh rotated it meanwhile
    }
    if (row && (await this.wasJustRotatedInto(row, next.row.token_hash, now))) return this.issue(row, next.token, now);
    await this.sessions.revoke(sessionId, 'refresh_reuse', now);
    throw new AppError('REFRESH_TOKEN_INVALID');
  }

  /** Whether `row` was rotated less than REFRESH_TOKEN_GRACE ago into `successorHash`, in a session still live. */
  private async wasJustRotatedInto(
    row: RefreshTokenRow & { revoked_at: number | null },
    successorHash: string,
    now: number,
  ): Promise<boolean> {
    if (row.revoked_at !== null || row.used_at === null || now >= row.used_at + this.config.REFRESH_TOKEN_GRACE * 1000)
      return false;
    const successor = await this.sessions.findToken(successorHash);
    return successor?.session_id === row.session_id;
  }

  private async issue(
    row: { user_id: string; session_id: string },
    refreshToken: string,
    now: number,
  ): Promise<IssuedTokens & { userId: string }> {
    return {
      accessToken: await this.signAccess(row.user_id, row.session_id, now),
      refreshToken,
      expiresIn: this.config.ACCESS_TOKEN_TTL,
      sessionId: row.session_id,
      userId: row.user_id,
    };
  }

  endSession(sessionId: string): Promise<void> {
    return this.sessions.revoke(sessionId, 'logout', this.clock.now());
  }

  /** The user's live sessions, for the console's sessions list. */
  listSessions(userId: string): Promise<SessionRow[]> {
    return this.sessions.listLive(userId, this.clock.now());
  }

  /** Ends one of the user's own sessions ("sign out that device"); NOT_FOUND for any other id. */
  async endOwnSession(userId: string, sessionId: string): Promise<void> {
    if (!(await this.sessions.revokeOwn(userId, sessionId, 'ended_by_user', this.clock.now())))
      throw new AppError('NOT_FOUND');
  }

  /** Ends every session of the user (each is refused at its next request, on any instance); returns how many were open. */
  endAllSessions(userId: string, reason: string): Promise<number> {
    return this.sessions.revokeAllOfUser(userId, reason, this.clock.now());
  }

  private signAccess(userId: string, sessionId: string, now: number): Promise<string> {
    const issuedAt = Math.floor(now / 1000);
    return new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.config.ACCESS_TOKEN_TTL)
      .sign(this.key);
  }

  /** A session's first refresh token: random. */
  private newRefreshToken(sessionId: string, now: number, expiresAt: number): { token: string; row: RefreshTokenRow } {
    return refreshTokenOf(`rt_${randomToken(32)}`, sessionId, now, expiresAt);
  }

  /**
   * The token that replaces `token`: derived from it under a key only the server holds, so the same
   * successor can be handed out again without being stored (only its hash is, like every refresh token).
   */
  private successorOf(
    token: string,
    sessionId: string,
    now: number,
    expiresAt: number,
  ): { token: string; row: RefreshTokenRow } {
    return refreshTokenOf(`rt_${keyedToken(this.successorKey, token)}`, sessionId, now, expiresAt);
  }
}

function refreshTokenOf(
  token: string,
  sessionId: string,
  now: number,
  expiresAt: number,
): { token: string; row: RefreshTokenRow } {
  return {
    token,
    row: { token_hash: sha256Hex(token), session_id: sessionId, created_at: now, expires_at: expiresAt, used_at: null },
  };
}
