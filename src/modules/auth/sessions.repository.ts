import type { Kysely } from 'kysely';
import type { DB } from '#core/db/schema.ts';
import type { Role, UserStatus } from '#modules/users/users.tables.ts';
import type { RefreshTokenRow, SessionRow } from './auth.tables.ts';

export interface LiveSession {
  sessionId: string;
  userId: string;
  role: Role;
  userStatus: UserStatus;
}

export class SessionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** A new session and its first refresh token, together. */
  async create(session: SessionRow, token: RefreshTokenRow): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('sessions').values(session).execute();
      await trx.insertInto('refresh_tokens').values(token).execute();
    });
  }

  /** The session behind an access token, with the user's current role, if it is still live. */
  findLive(sessionId: string, now: number): Promise<LiveSession | undefined> {
    return this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id as sessionId', 'users.id as userId', 'users.role as role', 'users.status as userStatus'])
      .where('sessions.id', '=', sessionId)
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
  }

  /** A refresh token with its session's state and its user's current status. */
  findToken(
    tokenHash: string,
  ): Promise<(RefreshTokenRow & { revoked_at: number | null; user_id: string; user_status: UserStatus }) | undefined> {
    return this.db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('refresh_tokens')
      .select(['sessions.revoked_at', 'sessions.user_id', 'users.status as user_status'])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /**
   * Marks `oldHash` used and stores its successor, atomically. False when the old token had already
   * been used (a replay or a race), in which case nothing is written.
   */
  async rotate(oldHash: string, next: RefreshTokenRow, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', oldHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx.insertInto('refresh_tokens').values(next).execute();
      return true;
    });
  }

  async revoke(sessionId: string, reason: string, now: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** The user's live sessions (not ended, not expired), newest first. */
  listLive(userId: string, now: number): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(100)
      .execute();
  }

  /** Ends one live session of this user; false when there is none by that id (or it is someone else's). */
  async revokeOwn(userId: string, sessionId: string, reason: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('id', '=', sessionId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** How many sessions were still open (not revoked) and are now ended. */
  async revokeAllOfUser(userId: string, reason: string, now: number): Promise<number> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: now, revoke_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
